using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>IBAN_CODE: a known country code, that country's exact length, and the ISO 13616 mod-97 check.</summary>
internal static partial class IbanRecognizer
{
    // IBAN lengths per country from the SWIFT IBAN registry.
    private const string LengthTable =
        "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 DO28 EE20 " +
        "EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 " +
        "KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 " +
        "PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 " +
        "UA29 VA22 VG24 XK20 YE30";

    private static readonly Dictionary<int, int> Lengths = ParseLengths();

    // Grouped in fours with single spaces or written solid; lower case is accepted because people type it.
    [GeneratedRegex(@"\G(?:(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){10,32}(?![A-Za-z0-9]))", RegexOptions.CultureInvariant)]
    private static partial Regex Candidate();

    // An IBAN starts with two ASCII letters and two digits: anchored on the first of those digits.
    private static readonly AnchoredMatches CandidateNear = new(Candidate(), NextCountryDigits, static (_, anchor) => anchor - 2, asciiBoundary: true);

    private static int NextCountryDigits(string text, int from)
    {
        var i = Math.Max(from, 2);
        while (i < text.Length - 1)
        {
            var digit = text.AsSpan(i).IndexOfAnyInRange('0', '9');
            if (digit < 0)
            {
                return -1;
            }

            i += digit;
            if (i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]) && char.IsAsciiLetter(text[i - 1]) && char.IsAsciiLetter(text[i - 2]))
            {
                return i;
            }

            i++;
        }

        return -1;
    }

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        foreach (var match in CandidateNear.Matches(text))
        {
            var end = ValidEnd(text.AsSpan(match.Index, match.Length));
            if (end > 0)
            {
                found.TryAdd(PiiEntityTypes.IbanCode, match.Index, match.Index + end);
            }
        }
    }

    /// <summary>Length of the valid IBAN at the start of <paramref name="candidate"/>, or 0 when there is none.</summary>
    /// <remarks>
    /// The candidate may run on into following upper-case words ("... 7654 32 AND"): the country's length says
    /// where the IBAN ends, provided that falls between groups.
    /// </remarks>
    internal static int ValidEnd(ReadOnlySpan<char> candidate)
    {
        if (candidate.Length < 4 || !Lengths.TryGetValue(Key(candidate[0], candidate[1]), out var length))
        {
            return 0;
        }

        Span<char> compact = stackalloc char[34];
        var count = 0;
        var end = 0;
        for (var i = 0; i < candidate.Length && count < length; i++)
        {
            if (candidate[i] != ' ')
            {
                compact[count++] = char.ToUpperInvariant(candidate[i]);
                end = i + 1;
            }
        }

        if (count < length || (end < candidate.Length && candidate[end] != ' '))
        {
            return 0;
        }

        return IsValid(compact[..count]) ? end : 0;
    }

    /// <summary>True when <paramref name="iban"/> (compact, upper case) has its country's length and mod 97 equals 1.</summary>
    internal static bool IsValid(ReadOnlySpan<char> iban)
    {
        if (iban.Length < 5 || !Lengths.TryGetValue(Key(iban[0], iban[1]), out var length) || iban.Length != length
            || !char.IsAsciiDigit(iban[2]) || !char.IsAsciiDigit(iban[3]))
        {
            return false;
        }

        // Move the country code and check digits to the end, read letters as 10..35, and take the number mod 97
        // piecewise so it never needs more than an int.
        var remainder = 0;
        for (var i = 0; i < iban.Length; i++)
        {
            var c = iban[(i + 4) % iban.Length];
            if (char.IsAsciiDigit(c))
            {
                remainder = ((remainder * 10) + (c - '0')) % 97;
            }
            else if (char.IsAsciiLetterUpper(c))
            {
                remainder = ((remainder * 100) + (c - 'A' + 10)) % 97;
            }
            else
            {
                return false;
            }
        }

        return remainder == 1;
    }

    private static int Key(char first, char second) => (char.ToUpperInvariant(first) << 8) | char.ToUpperInvariant(second);

    private static Dictionary<int, int> ParseLengths()
    {
        var lengths = new Dictionary<int, int>();
        foreach (var entry in LengthTable.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            lengths[Key(entry[0], entry[1])] = int.Parse(entry.AsSpan(2), System.Globalization.CultureInfo.InvariantCulture);
        }

        return lengths;
    }
}
