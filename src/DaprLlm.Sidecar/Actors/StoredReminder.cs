using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.Actors;

/// <summary>
/// A durable reminder as kept in the actor state store, with its firing track (next due time, count) and, while a host
/// fires it, until when that host's claim holds.
/// </summary>
public sealed record StoredReminder(
    string Registration,
    string ActorId,
    string Name,
    JsonNode? Data,
    string DueTime,
    string Period,
    string? Ttl,
    DateTimeOffset NextDue,
    int Fired,
    int? Repetitions,
    TimeSpan? Every,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? ClaimedUntil = null,
    int Retries = 0,
    DateTimeOffset? RetryAt = null)
{
    /// <summary>daprd's scheduler failure policy for actor reminders: constant, one second apart, at most three retries.</summary>
    public const int MaxRetries = 3;

    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    /// <summary>The body daprd sends to the app's remind callback.</summary>
    public JsonObject CallbackBody() => new()
    {
        ["data"] = Data?.DeepClone(),
        ["dueTime"] = DueTime,
        ["period"] = Period,
    };

    /// <summary>Due at <paramref name="now"/> and not being fired by a host whose claim still holds.</summary>
    public bool IsDue(DateTimeOffset now) => (RetryAt ?? NextDue) <= now && !(ClaimedUntil > now);

    /// <summary>
    /// The reminder after a failed callback: retried a second later up to <see cref="MaxRetries"/> times, then that due
    /// time is given up as daprd's scheduler does (a one-shot reminder is removed, a periodic one keeps its phase).
    /// </summary>
    public StoredReminder? AfterFailure(DateTimeOffset now) => Retries < MaxRetries
        ? this with { Retries = Retries + 1, RetryAt = now + RetryInterval, ClaimedUntil = null }
        : AfterFiring(now);

    /// <summary>Whether <paramref name="stored"/> is still this firing: same registration, not yet counted as fired.</summary>
    public bool IsSameFiring(StoredReminder stored) => stored.Registration == Registration && stored.Fired == Fired;

    /// <summary>The reminder after one firing, or null when that was its last.</summary>
    public StoredReminder? AfterFiring(DateTimeOffset now)
    {
        var fired = Fired + 1;
        if (Every is not { } every || (Repetitions is { } max && fired >= max))
        {
            return null;
        }

        // One firing per due time: due times missed while no host ran are skipped, not replayed in a burst.
        var next = NextDue + every;
        if (next <= now)
        {
            next += every * Math.Ceiling((now - next) / every + 1e-9);
        }

        return ExpiresAt is { } expires && next > expires ? null : this with { NextDue = next, Fired = fired, ClaimedUntil = null, Retries = 0, RetryAt = null };
    }
}
