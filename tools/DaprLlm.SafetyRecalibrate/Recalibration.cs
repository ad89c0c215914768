namespace DaprLlm.SafetyRecalibrate;

/// <summary>Sweeps every distinct score as a threshold and picks the operating points that meet the targets.</summary>
public static class Recalibration
{
    public const string Any = "any";

    public static IReadOnlyList<ThresholdProposal> Propose(IReadOnlyList<LabelledRow> rows, double targetPrecision, double targetRecall)
    {
        var proposals = new List<ThresholdProposal>
        {
            ProposeFor(Any, rows.Select(r => (Max(r.Scores), r.Label == 1)).ToList(), targetPrecision, targetRecall),
        };
        foreach (var category in rows.SelectMany(r => r.Scores.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            // A block with named categories is a negative for the others; a block without any is unknown per category.
            var points = rows
                .Where(r => r.Label == 0 || r.Categories.Count > 0)
                .Select(r => (r.Scores.GetValueOrDefault(category), r.Label == 1 && r.Categories.Contains(category)))
                .ToList();
            proposals.Add(ProposeFor(category, points, targetPrecision, targetRecall));
        }

        return proposals;
    }

    public static ThresholdProposal ProposeFor(string category, IReadOnlyList<(double Score, bool Positive)> points, double targetPrecision, double targetRecall)
    {
        var positives = points.Count(p => p.Positive);
        var curve = Curve(points, positives);
        var block = curve.Where(p => p.Precision >= targetPrecision).OrderBy(p => p.Threshold).FirstOrDefault();
        var allow = curve.Where(p => p.Recall >= targetRecall).OrderByDescending(p => p.Threshold).FirstOrDefault();
        return new ThresholdProposal(category, points.Count, positives, block, allow);
    }

    /// <summary>One operating point per distinct score, from the highest threshold down.</summary>
    public static IReadOnlyList<OperatingPoint> Curve(IReadOnlyList<(double Score, bool Positive)> points, int positives)
    {
        if (points.Count == 0 || positives == 0)
        {
            return [];
        }

        var sorted = points.OrderByDescending(p => p.Score).ToList();
        var result = new List<OperatingPoint>();
        int truePositives = 0, flagged = 0;
        for (var i = 0; i < sorted.Count; i++)
        {
            flagged++;
            truePositives += sorted[i].Positive ? 1 : 0;
            // Ties share one threshold: only emit after the last row with this score.
            if (i + 1 < sorted.Count && sorted[i + 1].Score == sorted[i].Score)
            {
                continue;
            }

            result.Add(new OperatingPoint(sorted[i].Score, (double)truePositives / flagged, (double)truePositives / positives, (double)flagged / sorted.Count));
        }

        return result;
    }

    private static double Max(IReadOnlyDictionary<string, double> scores) => scores.Count == 0 ? 0 : scores.Values.Max();
}
