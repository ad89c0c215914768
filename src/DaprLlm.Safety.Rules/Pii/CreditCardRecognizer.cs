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
        foreach (var match in Candidate().EnumerateMatches(text))
        {
            if (IsValid(text.AsSpan(match.Index, match.Length)))
            {
                found.TryAdd(PiiEntityTypes.CreditCard, match.Index, match.Index + match.Length);
            }
        }
    }

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
