using System.Globalization;
using System.Text.RegularExpressions;

namespace DaprLlm.Sidecar.Components;

/// <summary>Durations as Dapr writes them: Go durations ("1h2m3s4ms", "500ms", "0h0m0s300ms"), ISO 8601 ("PT5S") or seconds.</summary>
public static partial class DaprDuration
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (text.StartsWith('P') || text.StartsWith('p'))
        {
            try
            {
                value = System.Xml.XmlConvert.ToTimeSpan(text.ToUpperInvariant());
                return true;
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                return false;
            }
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            // "NaN", "Infinity" and values past TimeSpan's range are not durations (TimeSpan.FromSeconds would throw).
            return Fits(seconds * 1000, out value);
        }

        var matches = GoDurationPart().Matches(text);
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)) != text)
        {
            return false;
        }

        double totalMs = 0;
        foreach (Match m in matches)
        {
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            totalMs += m.Groups[2].Value switch
            {
                "h" => n * 3_600_000,
                "m" => n * 60_000,
                "s" => n * 1000,
                "ms" => n,
                "us" or "µs" => n / 1000,
                "ns" => n / 1_000_000,
                _ => 0,
            };
        }

        return Fits(totalMs, out value);
    }

    // 10,000 years: far past any timer or timeout, well inside TimeSpan's range.
    private const double MaxMilliseconds = 10_000d * 365 * 86_400_000;

    private static bool Fits(double milliseconds, out TimeSpan value)
    {
        var ok = double.IsFinite(milliseconds) && Math.Abs(milliseconds) <= MaxMilliseconds;
        value = ok ? TimeSpan.FromMilliseconds(milliseconds) : TimeSpan.Zero;
        return ok;
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var v) ? v : throw new FormatException($"'{text}' is not a duration");

    /// <summary>Formats as daprd does in its APIs: "0h0m1s500ms".</summary>
    public static string Format(TimeSpan value) =>
        $"{(int)value.TotalHours}h{value.Minutes}m{value.Seconds}s{value.Milliseconds}ms";

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")]
    private static partial Regex GoDurationPart();
}
