using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// Runs a pattern only near its anchors: a pattern that cannot match without some cheap-to-find anchor (a digit
/// after a space, a street prefix word, ':' or '=') is tried, anchored with <c>\G</c>, at the word starts of a
/// short window before each anchor, instead of at every position of the text. The window must reach back at least
/// as far as any match can start before its anchor; then the matches are exactly those of the unanchored pattern.
/// </summary>
internal sealed class AnchoredMatches
{
    private readonly Regex _anchored;
    private readonly Func<string, int, int> _nextAnchor;
    private readonly Func<string, int, int> _windowStart;
    private readonly bool _asciiBoundary;

    /// <param name="anchored">
    /// The pattern wrapped as <c>\G(?:pattern)</c>, source-generated: a pattern compiled at run time would be
    /// JIT-compiled inside its first match, whose timeout then ran out on a busy machine and lost that text's matches.
    /// </param>
    /// <param name="nextAnchor">The first anchor at or after a position, or -1.</param>
    /// <param name="windowStart">How far before an anchor a match can start.</param>
    /// <param name="asciiBoundary">
    /// False: the pattern starts with <c>\b</c>, so no match starts between two letters or digits. True: it starts
    /// with a lookbehind for no ASCII letter or digit, so no match starts right after one.
    /// </param>
    public AnchoredMatches(Regex anchored, Func<string, int, int> nextAnchor, Func<string, int, int> windowStart, bool asciiBoundary = false)
    {
        ArgumentNullException.ThrowIfNull(anchored);
        if (!anchored.ToString().StartsWith(@"\G(?:", StringComparison.Ordinal))
        {
            throw new ArgumentException(@"the pattern must be anchored as \G(?:...)", nameof(anchored));
        }

        _anchored = anchored;
        _nextAnchor = nextAnchor;
        _windowStart = windowStart;
        _asciiBoundary = asciiBoundary;
    }

    /// <summary>The unanchored pattern's matches, left to right, non-overlapping; stops quietly on a match timeout.</summary>
    public IEnumerable<Match> Matches(string text)
    {
        var position = 0;
        while (position <= text.Length)
        {
            var anchor = _nextAnchor(text, position);
            if (anchor < 0)
            {
                yield break;
            }

            var found = First(text, Math.Max(position, _windowStart(text, anchor)), anchor);
            if (found is null)
            {
                position = anchor + 1;
                continue;
            }

            if (!found.Success)
            {
                yield break; // timed out: the text loses this detector, the service keeps its latency bound
            }

            yield return found;
            position = found.Index + Math.Max(found.Length, 1);
        }
    }

    private Match? First(string text, int from, int to)
    {
        for (var i = from; i <= to && i < text.Length; i++)
        {
            if (i > 0 && (_asciiBoundary ? char.IsAsciiLetterOrDigit(text[i - 1]) : char.IsLetterOrDigit(text[i - 1]) && char.IsLetterOrDigit(text[i])))
            {
                continue;
            }

            try
            {
                var match = _anchored.Match(text, i);
                if (match.Success)
                {
                    return match;
                }
            }
            catch (RegexMatchTimeoutException)
            {
                return Match.Empty;
            }
        }

        return null;
    }

    /// <summary>The start of the <paramref name="tokens"/>-th whitespace-separated token before <paramref name="anchor"/>, staying on its line unless <paramref name="lines"/> allows more.</summary>
    public static int TokensBefore(string text, int anchor, int tokens, int lines = 0)
    {
        var i = anchor;
        for (var t = 0; t < tokens && i > 0; t++)
        {
            while (i > 0 && text[i - 1] is ' ' or '\t' or '\n' or '\r')
            {
                if (text[i - 1] == '\n' && lines-- <= 0)
                {
                    return i;
                }

                i--;
            }

            while (i > 0 && text[i - 1] is not (' ' or '\t' or '\n' or '\r'))
            {
                i--;
            }
        }

        return i;
    }
}
