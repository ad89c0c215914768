namespace DaprLlm.Inference.Batching;

/// <summary>Greedy, temperature, top-k and top-p sampling over one row of logits.</summary>
public static class Sampler
{
    public static int Sample(ReadOnlySpan<float> logits, SamplingParameters p, Random random)
    {
        if (p.Temperature <= 0 || p.TopK == 1)
        {
            return ArgMax(logits);
        }

        var n = logits.Length;
        var invT = 1.0 / p.Temperature;
        if (p.TopK <= 0 && p.TopP >= 1.0)
        {
            // Plain temperature sampling needs no sort.
            var max = logits[ArgMax(logits)];
            var weights = new double[n];
            double sum = 0;
            for (var i = 0; i < n; i++)
            {
                sum += weights[i] = Math.Exp((logits[i] - max) * invT);
            }

            return Draw(weights, n, sum, random, null);
        }

        var order = new int[n];
        var keys = new float[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
            keys[i] = -logits[i];
        }

        Array.Sort(keys, order);
        var k = p.TopK > 0 ? Math.Min(p.TopK, n) : n;
        var probs = new double[k];
        double total = 0;
        var top = -keys[0];
        for (var i = 0; i < k; i++)
        {
            total += probs[i] = Math.Exp((-keys[i] - top) * invT);
        }

        // Nucleus: the smallest prefix whose probability reaches top_p.
        var kept = k;
        if (p.TopP < 1.0)
        {
            double cumulative = 0;
            for (var i = 0; i < k; i++)
            {
                cumulative += probs[i] / total;
                if (cumulative >= p.TopP)
                {
                    kept = i + 1;
                    break;
                }
            }
        }

        double keptSum = 0;
        for (var i = 0; i < kept; i++)
        {
            keptSum += probs[i];
        }

        return Draw(probs, kept, keptSum, random, order);
    }

    private static int Draw(double[] weights, int count, double sum, Random random, int[]? order)
    {
        var u = random.NextDouble() * sum;
        for (var i = 0; i < count; i++)
        {
            u -= weights[i];
            if (u <= 0)
            {
                return order is null ? i : order[i];
            }
        }

        return order is null ? count - 1 : order[count - 1];
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
