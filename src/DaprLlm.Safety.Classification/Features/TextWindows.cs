namespace DaprLlm.Safety.Classification.Features;

/// <summary>
/// Cuts a text longer than the featurizer reads into overlapping windows that the ML layer scores one by one, so what
/// follows the first window is scored too: without them 5,000 characters of harmless padding hid a harmful paragraph
/// from the model (the featurizer reads the first <c>maxChars</c> characters, the embedding the first tokens).
/// </summary>
/// <remarks>
/// Windows end at whitespace (words stay whole; the featurizer's words are runs of letters and digits) and the next one
/// starts about <see cref="Overlap"/> characters back (after a whitespace, at least half of that), so a sentence cut at a
/// border is whole in the next window. Cost: a step is at least <c>maxChars - 2 × overlap</c>, so a text of n characters has at most
/// <c>1 + ⌈(n - maxChars) / (maxChars - 2 × overlap)⌉</c> windows: 65 for the safety app's 200,000-character limit
/// (ModerationOptions.MaxTextChars) at 4,096 characters a window.
/// </remarks>
public static class TextWindows
{
    /// <summary>Characters a window shares with the one before it (a quarter of a window when windows are small).</summary>
    public const int Overlap = 512;

    /// <summary>The text itself when it has at most <paramref name="maxChars"/> characters; else its windows, in order.</summary>
    public static IReadOnlyList<string> Split(string text, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 4);
        if (text.Length <= maxChars)
        {
            return [text];
        }

        var overlap = Math.Min(Overlap, maxChars / 4);
        var windows = new List<string>(2 + (text.Length - maxChars) / (maxChars - 2 * overlap));
        var start = 0;
        while (text.Length - start > maxChars)
        {
            var end = EndAt(text, start + maxChars, overlap);
            windows.Add(text[start..end]);
            start = StartAfter(text, end - overlap, overlap / 2);
        }

        windows.Add(text[start..]);
        return windows;
    }

    // The last whitespace within `overlap` characters before the limit (the window stops before it); else the limit.
    private static int EndAt(string text, int limit, int overlap)
    {
        for (var i = limit; i > limit - overlap; i--)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                return i;
            }
        }

        return char.IsHighSurrogate(text[limit - 1]) ? limit - 1 : limit;
    }

    // Just after the first whitespace within `reach` characters of `from` (the windows then share at least half the
    // overlap); else `from`. Either way at least maxChars - 2 × overlap past the window's start, so the loop moves on.
    private static int StartAfter(string text, int from, int reach)
    {
        for (var i = from; i < from + reach; i++)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                return i + 1;
            }
        }

        return char.IsLowSurrogate(text[from]) ? from + 1 : from;
    }
}
