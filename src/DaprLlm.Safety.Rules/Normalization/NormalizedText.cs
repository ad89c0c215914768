namespace DaprLlm.Safety.Rules;

/// <summary>A normalized view of a text with a map from each normalized character back to the original offsets.</summary>
public sealed class NormalizedText
{
    // Per normalized char: the original range it came from. Null when the view is the original text itself,
    // which saves two arrays for the common plain-ASCII case.
    private readonly int[]? _starts;
    private readonly int[]? _ends;

    internal NormalizedText(string original, string text, int[]? starts, int[]? ends)
    {
        Original = original;
        Text = text;
        _starts = starts;
        _ends = ends;
    }

    public string Original { get; }

    public string Text { get; }

    internal static NormalizedText Identity(string text) => new(text, text, null, null);

    /// <summary>Maps a normalized range (end exclusive) to the smallest original range that produced it.</summary>
    public TextSpan ToOriginal(int start, int end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(end, start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(end, Text.Length);
        if (_starts is null || _ends is null)
        {
            return new TextSpan(start, end);
        }

        if (start == end)
        {
            var at = start < _starts.Length ? _starts[start] : Original.Length;
            return new TextSpan(at, at);
        }

        return new TextSpan(_starts[start], _ends[end - 1]);
    }

    public TextSpan ToOriginal(TextSpan span) => ToOriginal(span.Start, span.End);
}
