using System.Globalization;

namespace DaprLlm.Sidecar.Resiliency;

/// <summary>matching.httpStatusCodes: "429,500-599" (codes and ranges within 100-599).</summary>
public sealed class StatusCodeSet
{
    private readonly List<(int From, int To)> _ranges;

    private StatusCodeSet(List<(int From, int To)> ranges) => _ranges = ranges;

    public bool Contains(int code) => _ranges.Exists(r => code >= r.From && code <= r.To);

    public static StatusCodeSet Parse(string text, string where)
    {
        var ranges = new List<(int, int)>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var bounds = part.Split('-', 2, StringSplitOptions.TrimEntries);
            if (!int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from) ||
                !int.TryParse(bounds.Length == 2 ? bounds[1] : bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var to) ||
                from < 100 || to > 599 || from > to)
            {
                throw new FormatException($"{where}: '{part}' is not a status code or range within 100-599");
            }

            ranges.Add((from, to));
        }

        return new StatusCodeSet(ranges);
    }
}
