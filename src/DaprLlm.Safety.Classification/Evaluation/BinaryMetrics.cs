namespace DaprLlm.Safety.Classification.Evaluation;

/// <summary>Ranking and thresholded metrics for binary labels.</summary>
public static class BinaryMetrics
{
    /// <summary>
    /// Area under the precision–recall curve as average precision (the mean of the precision at each positive's
    /// rank); rows with equal scores are taken as one step, so the order of ties does not matter.
    /// </summary>
    public static double AveragePrecision(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(labels);
        var positives = labels.Count(l => l);
        if (positives == 0)
        {
            return double.NaN;
        }

        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double sum = 0;
        int truePositives = 0, seen = 0;
        var i = 0;
        while (i < order.Length)
        {
            var j = i;
            var groupPositives = 0;
            while (j < order.Length && scores[order[j]] == scores[order[i]])
            {
                if (labels[order[j]])
                {
                    groupPositives++;
                }

                j++;
            }

            truePositives += groupPositives;
            seen += j - i;
            sum += groupPositives * ((double)truePositives / seen);
            i = j;
        }

        return sum / positives;
    }

    /// <summary>Confusion counts of predictions against labels.</summary>
    public static Confusion Count(IReadOnlyList<bool> predicted, IReadOnlyList<bool> labels)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(labels);
        int tp = 0, fp = 0, fn = 0, tn = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            (tp, fp, fn, tn) = (predicted[i], labels[i]) switch
            {
                (true, true) => (tp + 1, fp, fn, tn),
                (true, false) => (tp, fp + 1, fn, tn),
                (false, true) => (tp, fp, fn + 1, tn),
                _ => (tp, fp, fn, tn + 1),
            };
        }

        return new Confusion(tp, fp, fn, tn);
    }
}

/// <summary>Confusion counts and the metrics derived from them; empty denominators give NaN (reported as null).</summary>
public readonly record struct Confusion(int TruePositives, int FalsePositives, int FalseNegatives, int TrueNegatives)
{
    public double Precision => Ratio(TruePositives, TruePositives + FalsePositives);

    public double Recall => Ratio(TruePositives, TruePositives + FalseNegatives);

    public double F1 => Ratio(2 * TruePositives, 2 * TruePositives + FalsePositives + FalseNegatives);

    public double FalsePositiveRate => Ratio(FalsePositives, FalsePositives + TrueNegatives);

    private static double Ratio(int a, int b) => b == 0 ? double.NaN : (double)a / b;
}
