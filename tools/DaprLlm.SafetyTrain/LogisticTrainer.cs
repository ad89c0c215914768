namespace DaprLlm.SafetyTrain;

/// <summary>
/// L2-regularised logistic regression by SGD with a decaying step over L2-normalised sparse vectors, with class-balanced sample weights
/// (the sources have very different positive rates; Platt scaling afterwards restores calibrated probabilities).
/// </summary>
internal sealed record LogisticTrainer(int Epochs = 10, double LearningRate = 0.5, double L2 = 1e-6, double MaxPositiveWeight = 8)
{
    public (float[] Weights, double Bias) Train(IReadOnlyList<TrainingExample> examples, int head, int dimension, int seed)
    {
        var rows = examples.Where(e => e.Labels[head] >= 0).ToArray();
        var weights = new float[dimension];
        double bias = 0;
        var positive = rows.Where(r => r.Labels[head] == 1).Sum(r => (double)r.Weight);
        var negative = rows.Where(r => r.Labels[head] == 0).Sum(r => (double)r.Weight);
        if (positive == 0 || negative == 0)
        {
            return (weights, positive == 0 ? -6 : 6);
        }

        var positiveWeight = Math.Clamp(negative / positive, 1, MaxPositiveWeight);
        var random = new Random(seed);
        for (var epoch = 0; epoch < Epochs; epoch++)
        {
            random.Shuffle(rows);
            var rate = LearningRate / (1 + epoch * 0.5);
            foreach (var row in rows)
            {
                var x = row.Features;
                var margin = bias;
                for (var i = 0; i < x.Count; i++)
                {
                    margin += weights[x.Indices[i]] * x.Values[i];
                }

                var y = row.Labels[head];
                var p = 1 / (1 + Math.Exp(-margin));
                var g = (p - y) * row.Weight * (y == 1 ? positiveWeight : 1);
                for (var i = 0; i < x.Count; i++)
                {
                    var j = x.Indices[i];
                    weights[j] -= (float)(rate * (g * x.Values[i] + L2 * weights[j]));
                }

                bias -= rate * 0.1 * g;
            }
        }

        return (weights, bias);
    }
}
