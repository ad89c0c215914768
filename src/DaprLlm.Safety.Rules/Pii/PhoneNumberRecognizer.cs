using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// PHONE_NUMBER: international numbers (+ or 00, E.164's 8–15 digits), NANP (3-3-4, optional leading 1) and
/// national formats written in groups (7–12 digits), each checked on digit counts and grouping rather than shape.
/// </summary>
internal static partial class PhoneNumberRecognizer
{
    // Groups are separated by a separator or follow a closing parenthesis, so digit runs are never split two ways
    // and the scan stays linear.
    [GeneratedRegex(@"(?<![\w+@.\-/])(?:\+|\b00)?(?:\(\d{1,5}\)|\d{1,12})(?:(?:[ .\-]{1,2}|(?<=\)))(?:\(\d{1,5}\)|\d{1,12})){0,7}(?: ?(?:x|ext\.?|extension) ?\d{1,6})?(?![\w@]|[.\-/]\d)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex Candidate();

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        foreach (var match in Candidate().EnumerateMatches(text))
        {
            if (IsValid(text, match.Index, match.Index + match.Length))
            {
                found.TryAdd(PiiEntityTypes.PhoneNumber, match.Index, match.Index + match.Length);
            }
        }
    }

    internal static bool IsValid(string text, int start, int end)
    {
        var candidate = text.AsSpan(start, end - start);
        // Letters only occur in an extension ("x123", "ext. 12"), which is part of the span but not of the number.
        var extension = candidate.IndexOfAnyInRange('A', 'z');
        var main = (extension < 0 ? candidate : candidate[..extension]).TrimEnd(' ');
        var plus = !main.IsEmpty && main[0] == '+';
        var international = plus || main.StartsWith("00", StringComparison.Ordinal);
        if (international)
        {
            main = plus ? main[1..] : main[2..];
        }

        Span<int> groups = stackalloc int[8];
        Span<char> digits = stackalloc char[16];
        var groupCount = 0;
        var digitCount = 0;
        var inGroup = false;
        for (var i = 0; i < main.Length; i++)
        {
            var c = main[i];
            if (char.IsAsciiDigit(c))
            {
                // "+41 (0)44 ...": the parenthesised trunk zero is dialled only from inside the country.
                if (international && c == '0' && i > 0 && main[i - 1] == '(' && i + 1 < main.Length && main[i + 1] == ')')
                {
                    continue;
                }

                if (digitCount == digits.Length)
                {
                    return false;
                }

                digits[digitCount++] = c;
                if (!inGroup)
                {
                    if (groupCount == groups.Length)
                    {
                        return false;
                    }

                    groupCount++;
                    inGroup = true;
                }

                groups[groupCount - 1]++;
            }
            else
            {
                inGroup = false;
            }
        }

        if (groupCount == 0)
        {
            return false;
        }

        groups = groups[..groupCount];
        digits = digits[..digitCount];
        if (international)
        {
            return digitCount is >= 8 and <= 15 && digits[0] != '0';
        }

        if (groupCount == 1)
        {
            // Unseparated: only the two national forms that are unambiguous as a phone number.
            var nanp = digitCount == 10 && digits[0] >= '2' && digits[3] >= '2';
            var trunk = digitCount is 10 or 11 && digits[0] == '0' && digits[1] != '0';
            return nanp || trunk;
        }

        if (digitCount is < 7 or > 12 || LooksLikeDate(candidate) || LooksLikeYearRange(groups, digits))
        {
            return false;
        }

        if (groups is [3, 2, 4])
        {
            return false; // the SSN layout; valid SSNs were claimed before phones run
        }

        if (groups is [3, 3, 4] or [1, 3, 3, 4])
        {
            return true; // NANP
        }

        // National groupings ("06 12 34 56 78", "020 7946 0958", "(08) 8747 6301"): groups of two or more,
        // except that dotted thousands ("12.500.000") are amounts.
        foreach (var group in groups)
        {
            if (group < 2)
            {
                return false;
            }
        }

        if (candidate.Contains('.') && groupCount <= 3 && groups[1..].IndexOfAnyExcept(3) < 0)
        {
            return false;
        }

        // Two groups ("467 3395") or seven digits look just like house numbers ("17151 2450 Crown St"), postal
        // codes and licence numbers: take them only when the text around says phone.
        var weak = groupCount == 2 || digitCount < 8 || groups is [4, 2, _];
        return !weak || HasContext(text, start, end);
    }

    private static readonly string[] ContextBefore =
        ["phone", "call", "tel", "mobile", "cell", "fax", "desk", "dial", "contact", "reach me", "text me", "whatsapp", "sms"];

    private static readonly string[] ContextAfter = ["office", "fax", "mobile", "phone", "cell", "desk", "home", "work"];

    private static bool HasContext(string text, int start, int end)
    {
        var before = text.AsSpan(Math.Max(0, start - 40), Math.Min(40, start));
        foreach (var word in ContextBefore)
        {
            if (before.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        var after = text.AsSpan(end, Math.Min(15, text.Length - end));
        foreach (var word in ContextAfter)
        {
            if (after.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // "2024-03-15", "15.03.2024", "03/15/24", also when a time follows ("2000-04-16 11:34"), with plausible
    // month and day values, so "60-56-85-91" stays a phone number.
    private static bool LooksLikeDate(ReadOnlySpan<char> candidate)
    {
        Span<int> values = stackalloc int[3];
        Span<int> lengths = stackalloc int[3];
        var i = 0;
        for (var n = 0; n < 3; n++)
        {
            var first = i;
            var value = 0;
            while (i < candidate.Length && char.IsAsciiDigit(candidate[i]))
            {
                if (i - first == 4)
                {
                    return false;
                }

                value = (value * 10) + (candidate[i] - '0');
                i++;
            }

            if (i == first)
            {
                return false;
            }

            values[n] = value;
            lengths[n] = i - first;
            if (n < 2)
            {
                if (i >= candidate.Length || candidate[i] is not ('-' or '/' or '.'))
                {
                    return false;
                }

                i++;
            }
        }

        if (lengths[0] == 4)
        {
            return lengths[1] <= 2 && lengths[2] <= 2 && values[1] is >= 1 and <= 12 && values[2] is >= 1 and <= 31;
        }

        return lengths[0] <= 2 && lengths[1] <= 2 && lengths[2] is 2 or 4
            && values[0] is >= 1 and <= 31 && values[1] is >= 1 and <= 31 && (values[0] <= 12 || values[1] <= 12);
    }

    private static bool LooksLikeYearRange(ReadOnlySpan<int> groups, ReadOnlySpan<char> digits) =>
        groups is [4, 4] && digits[0] is '1' or '2' && digits[4] is '1' or '2';
}
