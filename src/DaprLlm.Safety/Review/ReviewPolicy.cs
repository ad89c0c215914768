using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Review;

/// <summary>What happens when nobody decides (the category default), the model's own suggestion, and queue priority.</summary>
public sealed class ReviewPolicy(IOptions<ReviewOptions> options)
{
    private static readonly string[] SeverityOrder = ["low", "medium", "high", "critical"];

    /// <summary>Fail closed (block) for severe severities or a severe category with a real score; fail open otherwise.</summary>
    public string DefaultDecision(ReviewEscalation item)
    {
        var o = options.Value;
        var severe = o.EffectiveFailClosedSeverities.Contains(item.Severity, StringComparer.OrdinalIgnoreCase)
            || item.Categories.Any(c => c.Value >= o.FailClosedScore && o.EffectiveFailClosedCategories.Contains(c.Key, StringComparer.OrdinalIgnoreCase));
        return severe ? ReviewStatuses.Block : ReviewStatuses.Allow;
    }

    public string ModelSuggestion(IReadOnlyDictionary<string, double> categories) =>
        categories.Count > 0 && categories.Values.Max() >= options.Value.ModelBlockScore ? ReviewStatuses.Block : ReviewStatuses.Allow;

    /// <summary>Severity first, then the highest category score: 0..499.</summary>
    public static int Priority(string severity, IReadOnlyDictionary<string, double> categories)
    {
        var rank = Array.FindIndex(SeverityOrder, s => s.Equals(severity, StringComparison.OrdinalIgnoreCase));
        var top = categories.Count > 0 ? categories.Values.Max() : 0;
        return (Math.Max(rank, 0) + 1) * 100 + (int)Math.Round(Math.Clamp(top, 0, 0.99) * 100);
    }
}
