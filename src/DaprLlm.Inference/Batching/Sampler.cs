using System.Numerics.Tensors;

namespace DaprLlm.Inference.Batching;

/// <summary>
/// Greedy, temperature, top-k and top-p sampling over one row of logits. Runs once per row per decode step, so it
/// works in caller-owned scratch buffers with vectorized exp/max/sum instead of allocating per token.
/// </summary>
public static class Sampler
{
    /// <summary>Samples with fresh scratch buffers (tests and one-off calls).</summary>
    public static int Sample(ReadOnlySpan<float> logits, SamplingParameters p, Random random) =>
        Sample(logits, p, random, new SamplerScratch(logits.Length));

    public static int Sample(ReadOnlySpan<float> logits, SamplingParameters p, Random random, SamplerScratch scratch)
    {
        if (p.Temperature <= 0 || p.TopK == 1)
        {
            return ArgMax(logits);
        }

        var n = logits.Length;
        var invT = (float)(1.0 / p.Temperature);
        var weights = scratch.Weights(n);
        if (p.TopK <= 0 && p.TopP >= 1.0)
        {
            // Plain temperature sampling needs no sort: exp((l - max) / T) over the whole vocabulary.
            TensorPrimitives.Subtract(logits, TensorPrimitives.Max(logits), weights);
            TensorPrimitives.Multiply(weights, invT, weights);
            TensorPrimitives.Exp(weights, weights);
            return Draw(weights, TensorPrimitives.Sum<float>(weights), random, null);
        }

        var keys = scratch.Keys(n);
        var order = scratch.Order(n);
        TensorPrimitives.Negate(logits, keys);
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }

        keys.Sort(order.AsSpan());
        var k = p.TopK > 0 ? Math.Min(p.TopK, n) : n;
        var probs = weights[..k];
        TensorPrimitives.Add(keys[..k], -keys[0], probs);
        TensorPrimitives.Multiply(probs, -invT, probs);
        TensorPrimitives.Exp(probs, probs);
        var total = TensorPrimitives.Sum<float>(probs);

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

        return Draw(probs[..kept], TensorPrimitives.Sum<float>(probs[..kept]), random, order);
    }

    private static int Draw(ReadOnlySpan<float> weights, float sum, Random random, int[]? order)
    {
        var u = random.NextDouble() * sum;
        for (var i = 0; i < weights.Length; i++)
        {
            u -= weights[i];
            if (u <= 0)
            {
                return order is null ? i : order[i];
            }
        }

        return order is null ? weights.Length - 1 : order[weights.Length - 1];
    }

    /// <summary>Index of the largest value (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        var max = values[0];
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > max)
            {
                max = values[i];
                best = i;
            }
        }

        return best;
    }
}

/// <summary>Reusable per-thread buffers for <see cref="Sampler"/>; grows to the vocabulary once.</summary>
public sealed class SamplerScratch(int vocabulary = 0)
{
    private float[] _weights = new float[vocabulary];
    private float[] _keys = [];
    private int[] _order = [];

    internal Span<float> Weights(int n) => (_weights.Length >= n ? _weights : _weights = new float[n]).AsSpan(0, n);

    internal Span<float> Keys(int n) => (_keys.Length >= n ? _keys : _keys = new float[n]).AsSpan(0, n);

    internal int[] Order(int n) => _order.Length == n ? _order : _order = new int[n];
}
