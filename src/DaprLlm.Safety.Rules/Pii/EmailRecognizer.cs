using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>EMAIL_ADDRESS: the usual address shape, then local-part and domain-label rules.</summary>
internal static partial class EmailRecognizer
{
    // The look-behind makes a candidate start only where a run of address characters starts, which keeps the
    // scan linear on long dotted runs ("a.a.a.a..."). The local part takes RFC 5322's atext ("mary.o'connor" was
    // masked as "mary.o'<EMAIL_ADDRESS>") except '=', '/', '|', '`', '{' and '}', which in text mostly join an
    // address to what is before it ("email=jane@...", "a|jane@...", "{user}@...").
    [GeneratedRegex(@"\G(?:(?<![A-Za-z0-9._%+\-'!#$&*?^~])[A-Za-z0-9._%+\-'!#$&*?^~]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}(?![A-Za-z0-9\-]|\.[A-Za-z0-9]))", RegexOptions.CultureInvariant)]
    private static partial Regex Candidate();

    // The local part is at most 64 characters before the '@'.
    private static readonly AnchoredMatches CandidateNear = new(
        Candidate(),
        static (text, from) => text.AsSpan(from).IndexOf('@') is var i and >= 0 ? from + i : -1,
        static (_, anchor) => Math.Max(0, anchor - 64),
        asciiBoundary: true);

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        foreach (var match in CandidateNear.Matches(text))
        {
            var start = match.Index;
            var end = match.Index + match.Length;
            while (start < end && text[start] is '.' or '\'' or '!' or '#' or '$' or '&' or '*' or '?' or '^' or '~')
            {
                start++; // "see...me@example.com", "'me@example.com'", "**me@example.com**": punctuation of the sentence
            }

            if (IsValid(text.AsSpan(start, end - start)))
            {
                found.TryAdd(PiiEntityTypes.EmailAddress, start, end);
            }
        }
    }

    internal static bool IsValid(ReadOnlySpan<char> address)
    {
        var at = address.IndexOf('@');
        if (at <= 0)
        {
            return false;
        }

        var local = address[..at];
        if (local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        var domain = address[(at + 1)..];
        while (!domain.IsEmpty)
        {
            var dot = domain.IndexOf('.');
            var label = dot < 0 ? domain : domain[..dot];
            if (label.IsEmpty || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            domain = dot < 0 ? ReadOnlySpan<char>.Empty : domain[(dot + 1)..];
        }

        return true;
    }
}
