using System.Globalization;
using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.Actors;

/// <summary>
/// dueTime / period / ttl of timers and reminders as daprd accepts them: Go durations ("0h0m1s"),
/// ISO 8601 durations ("PT1S"), ISO 8601 repetitions for periods ("R5/PT1S": five firings in all),
/// and RFC 3339 instants for dueTime and ttl.
/// </summary>
public sealed record ActorSchedule(DateTimeOffset FirstDue, TimeSpan? Period, int? Repetitions, DateTimeOffset? ExpiresAt)
{
    /// <summary>Parses a registration; returns an error message instead of throwing.</summary>
    public static bool TryParse(string? dueTime, string? period, string? ttl, DateTimeOffset now, out ActorSchedule schedule, out string error)
    {
        schedule = new ActorSchedule(now, null, null, null);
        error = "";
        var first = now;
        if (!string.IsNullOrWhiteSpace(dueTime))
        {
            if (DaprDuration.TryParse(dueTime, out var due))
            {
                first = now + (due < TimeSpan.Zero ? TimeSpan.Zero : due);
            }
            else if (DateTimeOffset.TryParse(dueTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                first = at;
            }
            else
            {
                error = $"error parsing dueTime '{dueTime}'";
                return false;
            }
        }

        TimeSpan? every = null;
        int? repetitions = null;
        if (!string.IsNullOrWhiteSpace(period))
        {
            var text = period.Trim();
            if (text.StartsWith('R') || text.StartsWith('r'))
            {
                var slash = text.IndexOf('/', StringComparison.Ordinal);
                if (slash < 0)
                {
                    error = $"error parsing period '{period}': repetition without a duration";
                    return false;
                }

                var count = text[1..slash];
                if (count.Length > 0)
                {
                    if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                    {
                        error = $"error parsing period '{period}': bad repetition count";
                        return false;
                    }

                    repetitions = n;
                }

                text = text[(slash + 1)..];
            }

            if (!DaprDuration.TryParse(text, out var p) || p < TimeSpan.Zero)
            {
                error = $"error parsing period '{period}'";
                return false;
            }

            // A zero period (what the SDKs send for TimeSpan.Zero) fires once.
            every = p == TimeSpan.Zero ? null : p;
            if (repetitions == 0)
            {
                error = $"error parsing period '{period}': repetitions must be greater than 0";
                return false;
            }
        }

        DateTimeOffset? expires = null;
        if (!string.IsNullOrWhiteSpace(ttl))
        {
            if (DaprDuration.TryParse(ttl, out var t))
            {
                expires = first + t;
            }
            else if (DateTimeOffset.TryParse(ttl, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                expires = at;
            }
            else
            {
                error = $"error parsing ttl '{ttl}'";
                return false;
            }

            if (expires < first)
            {
                error = $"ttl '{ttl}' ends before the first due time";
                return false;
            }
        }

        schedule = new ActorSchedule(first, every, repetitions, expires);
        return true;
    }
}
