using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>US_SSN: AAA-GG-SSSS with the Social Security Administration's never-issued ranges excluded.</summary>
internal static partial class UsSsnRecognizer
{
    [GeneratedRegex(@"(?<![\w\-])\d{3}(?<sep>[\- ]?)\d{2}\k<sep>\d{4}(?!\w|-\d)", RegexOptions.CultureInvariant)]
    private static partial Regex Candidate();

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        foreach (var match in Candidate().EnumerateMatches(text))
        {
            var candidate = text.AsSpan(match.Index, match.Length);
            // Nine bare digits are as likely an order number as an SSN: only take them next to the words.
            if (IsValid(candidate) && (candidate.Length == 11 || HasContext(text, match.Index)))
            {
                found.TryAdd(PiiEntityTypes.UsSsn, match.Index, match.Index + match.Length);
            }
        }
    }

    internal static bool IsValid(ReadOnlySpan<char> candidate)
    {
        Span<char> digits = stackalloc char[9];
        var count = 0;
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == 9)
                {
                    return false;
                }

                digits[count++] = c;
            }
        }

        if (count != 9)
        {
            return false;
        }

        ReadOnlySpan<char> area = digits[..3], group = digits[3..5], serial = digits[5..];
        return area is not "000" and not "666" && area[0] != '9'
            && group is not "00" && serial is not "0000"
            && digits.ContainsAnyExcept(digits[0])
            // Published in advertising and specimens, so never a real person's number.
            && digits is not "123456789" and not "078051120" and not "219099999";
    }

    private static bool HasContext(string text, int start)
    {
        var window = text.AsSpan(Math.Max(0, start - 40), Math.Min(40, start));
        return window.Contains("ssn", StringComparison.OrdinalIgnoreCase)
            || window.Contains("social security", StringComparison.OrdinalIgnoreCase);
    }
}
