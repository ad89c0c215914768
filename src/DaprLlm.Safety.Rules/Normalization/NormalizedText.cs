namespace DaprLlm.Safety.Rules;

/// <summary>A normalized view of a text with a map from each normalized character back to the original offsets.</summary>
public sealed class NormalizedText
{
    // Per normalized char: the original range it came from. Null when the view is the original text itself (or maps
    // one to one onto it), which saves two arrays for the common plain-ASCII case; also null until first use when
    // the normalizer left the map to be built on demand (_mapSource).
    private OffsetMap? _map;
    private readonly TextNormalizer? _mapSource;

    internal NormalizedText(string original, string text, int[]? starts, int[]? ends)
    {
        Original = original;
        Text = text;
        _map = starts is null || ends is null ? null : new OffsetMap(starts, ends);
    }

    /// <summary>A view whose map is rebuilt by normalizing the original again, the first time it is needed.</summary>
    internal NormalizedText(string original, string text, TextNormalizer mapSource)
    {
        Original = original;
        Text = text;
        _mapSource = mapSource;
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
        var map = _map ?? BuildMap();
        if (map is null)
        {
            return new TextSpan(start, end);
        }

        if (start == end)
        {
            var at = start < map.Starts.Length ? map.Starts[start] : Original.Length;
            return new TextSpan(at, at);
        }

        return new TextSpan(map.Starts[start], map.Ends[end - 1]);
    }

    public TextSpan ToOriginal(TextSpan span) => ToOriginal(span.Start, span.End);

    // Two threads may both build it; they build the same map, and one reference write publishes either.
    private OffsetMap? BuildMap()
    {
        if (_mapSource is null)
        {
            return null;
        }

        var tracked = _mapSource.Normalize(Original, trackOffsets: true);
        return _map = tracked._map;
    }

    private sealed record OffsetMap(int[] Starts, int[] Ends);
}
