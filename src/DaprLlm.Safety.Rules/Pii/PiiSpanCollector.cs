namespace DaprLlm.Safety.Rules;

/// <summary>Accepted PII spans of one text (in the detector's view), first come first served.</summary>
internal sealed class PiiSpanCollector(string text)
{
    // Most texts have no entity: the set is made with the first. Kept in text order, so an overlap check is one
    // O(log n) search, not a scan of every accepted span (which was quadratic on texts with tens of thousands of
    // entities, such as 28,000 × "a@b.co ").
    private SortedSet<PiiEntity>? _entities;

    public string Text { get; } = text;

    /// <summary>Whether the text has a decimal digit of any script: most structured entities need one.</summary>
    public bool HasDigit { get; } = TextChars.HasDigit(text);

    /// <summary>Adds the span unless an earlier, more specific recognizer already claimed any of it.</summary>
    public bool TryAdd(string entityType, int start, int end) =>
        // An empty span masks nothing (no recognizer makes one); refusing it keeps the set's order exact.
        end > start && (_entities ??= new SortedSet<PiiEntity>(OverlapIsEqual.Instance)).Add(new PiiEntity(entityType, new TextSpan(start, end)));

    public IReadOnlyList<PiiEntity> ToOriginal(NormalizedText view)
    {
        if (_entities is null || _entities.Count == 0)
        {
            return [];
        }

        var result = new PiiEntity[_entities.Count];
        var i = 0;
        foreach (var entity in _entities)
        {
            result[i++] = entity with { Span = view.ToOriginal(entity.Span) };
        }

        Array.Sort(result, static (a, b) => a.Span.Start.CompareTo(b.Span.Start));
        return result;
    }

    /// <summary>
    /// Orders non-empty spans by position and calls two overlapping spans equal. Accepted spans never overlap each
    /// other, so among them this is a total order; and the spans a new one overlaps lie next to each other in it,
    /// between those wholly before and those wholly after it, so the set's search meets one of them:
    /// <see cref="SortedSet{T}.Add"/> refuses the span exactly when a scan over all accepted spans finds an overlap.
    /// </summary>
    private sealed class OverlapIsEqual : IComparer<PiiEntity>
    {
        public static readonly OverlapIsEqual Instance = new();

        public int Compare(PiiEntity x, PiiEntity y) =>
            x.Span.Overlaps(y.Span) ? 0 : x.Span.Start.CompareTo(y.Span.Start);
    }
}
