using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Classification.Evaluation;

/// <summary>
/// Span-level PII scoring: a predicted span matches an unused gold span of the same type when their character
/// overlap is at least half of their union.
/// </summary>
public sealed class SpanScorer
{
    /// <summary>The entity types a data-protection policy cares about; the set's other span types are not scored.</summary>
    public static IReadOnlyList<string> PolicyTypes { get; } =
    [
        "PERSON", "STREET_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER", "EMAIL_ADDRESS", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "US_DRIVER_LICENSE",
    ];

    private readonly Dictionary<string, SpanCounts> _byType = PolicyTypes.ToDictionary(t => t, _ => new SpanCounts(), StringComparer.Ordinal);

    public IReadOnlyDictionary<string, SpanCounts> ByType => _byType;

    public SpanCounts Overall
    {
        get
        {
            var total = new SpanCounts();
            foreach (var counts in _byType.Values)
            {
                total.Gold += counts.Gold;
                total.Predicted += counts.Predicted;
                total.Matched += counts.Matched;
            }

            return total;
        }
    }

    public void Add(IReadOnlyList<GoldSpan> gold, IEnumerable<(string Type, TextSpan Span)> predicted)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(predicted);
        var predictedList = predicted.ToList();
        foreach (var (type, counts) in _byType)
        {
            var goldSpans = gold.Where(g => g.Label == type).Select(g => g.Span).ToList();
            var predictedSpans = predictedList.Where(p => p.Type == type).Select(p => p.Span).ToList();
            counts.Gold += goldSpans.Count;
            counts.Predicted += predictedSpans.Count;
            var used = new bool[goldSpans.Count];
            foreach (var p in predictedSpans)
            {
                for (var i = 0; i < goldSpans.Count; i++)
                {
                    if (!used[i] && Overlap(p, goldSpans[i]) * 2 >= Union(p, goldSpans[i]))
                    {
                        used[i] = true;
                        counts.Matched++;
                        break;
                    }
                }
            }
        }
    }

    private static int Overlap(TextSpan a, TextSpan b) => Math.Max(0, Math.Min(a.End, b.End) - Math.Max(a.Start, b.Start));

    private static int Union(TextSpan a, TextSpan b) => a.Length + b.Length - Overlap(a, b);
}

/// <summary>Gold, predicted and matched span counts of one entity type.</summary>
public sealed class SpanCounts
{
    public int Gold { get; set; }

    public int Predicted { get; set; }

    public int Matched { get; set; }

    public double Precision => Predicted == 0 ? double.NaN : (double)Matched / Predicted;

    public double Recall => Gold == 0 ? double.NaN : (double)Matched / Gold;

    public double F1 => Gold + Predicted == 0 ? double.NaN : 2.0 * Matched / (Gold + Predicted);
}
