using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>CREDIT_CARD: 13–19 digits, plain or in groups with one kind of separator, passing the Luhn check.</summary>
internal static partial class CreditCardRecognizer
{
    [GeneratedRegex(@"(?<![\w\-.])(?:\d{13,19}|\d{4}(?:[ \-]\d{2,7}){2,4})(?!\w|[\-.]\d)", RegexOptions.CultureInvariant)]
    private static partial Regex Candidate();

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        for (var from = 0; from >= 0;)
        {
            from = FindFrom(found, text, from);
        }
    }

    // Where to scan again when a card was cut out of the front of a longer candidate (its remaining groups may
    // start the next card: "4111 1111 1111 1111 5500 0000 0000 0004"), or -1 at the end of the text.
    private static int FindFrom(PiiSpanCollector found, string text, int from)
    {
        foreach (var match in Candidate().EnumerateMatches(text, from))
        {
            var candidate = text.AsSpan(match.Index, match.Length);
            if (IsValid(candidate))
            {
                found.TryAdd(PiiEntityTypes.CreditCard, match.Index, match.Index + match.Length);
                continue;
            }

            var card = ValidGroups(candidate);
            if (card.Length > 0)
            {
                found.TryAdd(PiiEntityTypes.CreditCard, match.Index + card.Start, match.Index + card.End);
                if (card.End < candidate.Length)
                {
                    return match.Index + card.End;
                }
            }
        }

        return -1;
    }

    /// <summary>
    /// The longest (then leftmost) run of whole groups of a failed candidate that is a valid card in a printed card
    /// layout (4-4-4-4 with an optional short group, 4-6-4, 4-6-5), relative to the candidate; empty when none.
    /// </summary>
    /// <remarks>
    /// The pattern takes neighbouring groups with the card ("Card 4111 1111 1111 1111 123", "... 1111 12/26",
    /// "Ref 2024 4111 1111 1111 1111"), and then the whole fails. The layout condition keeps a row of unrelated
    /// figures from yielding a "card" on Luhn chance alone as often as any run of 13–19 digits would.
    /// </remarks>
    internal static TextSpan ValidGroups(ReadOnlySpan<char> candidate)
    {
        // The pattern allows at most five groups; a non-ASCII digit counts as a separator here, as in IsValid.
        Span<int> starts = stackalloc int[5];
        Span<int> ends = stackalloc int[5];
        var groups = 0;
        for (var i = 0; i < candidate.Length;)
        {
            if (!char.IsAsciiDigit(candidate[i]))
            {
                i++;
                continue;
            }

            if (groups == starts.Length)
            {
                return default;
            }

            starts[groups] = i;
            while (i < candidate.Length && char.IsAsciiDigit(candidate[i]))
            {
                i++;
            }

            ends[groups++] = i;
        }

        Span<int> lengths = stackalloc int[5];
        for (var g = 0; g < groups; g++)
        {
            lengths[g] = ends[g] - starts[g];
        }

        var best = default(TextSpan);
        for (var first = 0; first < groups; first++)
        {
            for (var last = first + 2; last < groups; last++)
            {
                var span = new TextSpan(starts[first], ends[last]);
                if (span.Length > best.Length && IsCardLayout(lengths[first..(last + 1)]) && IsValid(candidate[span.Start..span.End]))
                {
                    best = span;
                }
            }
        }

        return best;
    }

    private static bool IsCardLayout(ReadOnlySpan<int> lengths) =>
        lengths is [4, 4, 4, 4] or [4, 4, 4, 4, <= 3] or [4, 6, 4] or [4, 6, 5];

    internal static bool IsValid(ReadOnlySpan<char> candidate)
    {
        Span<char> digits = stackalloc char[19];
        var count = 0;
        var separator = '\0';
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == digits.Length)
                {
                    return false;
                }

                digits[count++] = c;
            }
            else if (separator == '\0')
            {
                separator = c;
            }
            else if (c != separator)
            {
                return false; // "4111 1111-1111 1111" is not how anyone writes a card number
            }
        }

        digits = digits[..count];
        return count >= 13 && digits[0] != '0' && digits.ContainsAnyExcept(digits[0]) && IsLuhnValid(digits);
    }

    /// <summary>The Luhn (mod 10) check digit test that every payment card number satisfies.</summary>
    internal static bool IsLuhnValid(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        var doubleIt = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (d is < 0 or > 9)
            {
                return false;
            }

            if (doubleIt)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubleIt = !doubleIt;
        }

        return digits.Length > 0 && sum % 10 == 0;
    }
}
