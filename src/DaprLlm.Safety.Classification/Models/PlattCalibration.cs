namespace DaprLlm.Safety.Classification.Models;

/// <summary>Platt scaling: p = sigmoid(A·margin + B), fitted on out-of-fold margins so a score means a probability.</summary>
public readonly record struct PlattCalibration(double A, double B)
{
    public static PlattCalibration Identity { get; } = new(1, 0);

    public double Apply(double margin) => 1 / (1 + Math.Exp(-(A * margin + B)));

    /// <summary>Fits A and B by Newton's method on the log loss with Platt's smoothed targets (no 0/1 overconfidence).</summary>
    public static PlattCalibration Fit(IReadOnlyList<double> margins, IReadOnlyList<bool> labels)
    {
        ArgumentNullException.ThrowIfNull(margins);
        ArgumentNullException.ThrowIfNull(labels);
        var positives = labels.Count(l => l);
        var negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0)
        {
            return Identity;
        }

        var high = (positives + 1.0) / (positives + 2.0);
        var low = 1.0 / (negatives + 2.0);
        double a = 1, b = 0;
        var loss = Loss(margins, labels, high, low, a, b);
        for (var iteration = 0; iteration < 100; iteration++)
        {
            double gA = 0, gB = 0, hAA = 1e-6, hAB = 0, hBB = 1e-6;
            for (var i = 0; i < margins.Count; i++)
            {
                var t = labels[i] ? high : low;
                var p = 1 / (1 + Math.Exp(-(a * margins[i] + b)));
                var d = p - t;
                var w = p * (1 - p);
                gA += d * margins[i];
                gB += d;
                hAA += w * margins[i] * margins[i];
                hAB += w * margins[i];
                hBB += w;
            }

            var det = hAA * hBB - hAB * hAB;
            if (Math.Abs(det) < 1e-12)
            {
                break;
            }

            var stepA = (hBB * gA - hAB * gB) / det;
            var stepB = (hAA * gB - hAB * gA) / det;
            // Backtracking: a full Newton step can overshoot on separable folds; halve it until the loss drops.
            var scale = 1.0;
            var improved = false;
            while (scale > 1e-6)
            {
                var next = Loss(margins, labels, high, low, a - scale * stepA, b - scale * stepB);
                if (next < loss)
                {
                    (a, b, loss, improved) = (a - scale * stepA, b - scale * stepB, next, true);
                    break;
                }

                scale /= 2;
            }

            if (!improved || Math.Abs(scale * stepA) + Math.Abs(scale * stepB) < 1e-9)
            {
                break;
            }
        }

        return new PlattCalibration(a, b);
    }

    private static double Loss(IReadOnlyList<double> margins, IReadOnlyList<bool> labels, double high, double low, double a, double b)
    {
        double loss = 0;
        for (var i = 0; i < margins.Count; i++)
        {
            var t = labels[i] ? high : low;
            var z = a * margins[i] + b;
            // log(1 + e^z) - t·z, written to stay finite for large |z|.
            loss += Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z))) - t * z;
        }

        return loss;
    }
}
