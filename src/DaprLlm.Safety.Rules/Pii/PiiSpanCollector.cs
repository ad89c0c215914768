namespace DaprLlm.Safety.Rules;

/// <summary>Accepted PII spans of one text (in the detector's view), first come first served.</summary>
internal sealed class PiiSpanCollector(string text)
{
    // Most texts have no entity: the list is made with the first.
    private List<PiiEntity>? _entities;

    public string Text { get; } = text;

    /// <summary>Whether the text has a decimal digit of any script: most structured entities need one.</summary>
    public bool HasDigit { get; } = TextChars.HasDigit(text);

    /// <summary>Adds the span unless an earlier, more specific recognizer already claimed any of it.</summary>
    public bool TryAdd(string entityType, int start, int end)
    {
        var span = new TextSpan(start, end);
        foreach (var entity in _entities ??= [])
        {
            if (entity.Span.Overlaps(span))
            {
                return false;
            }
        }

        _entities.Add(new PiiEntity(entityType, span));
        return true;
    }

    public IReadOnlyList<PiiEntity> ToOriginal(NormalizedText view)
    {
        if (_entities is null || _entities.Count == 0)
        {
            return [];
        }

        var result = new PiiEntity[_entities.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = _entities[i] with { Span = view.ToOriginal(_entities[i].Span) };
        }

        Array.Sort(result, static (a, b) => a.Span.Start.CompareTo(b.Span.Start));
        return result;
    }
}
