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
        if (float.IsInfinity(invT))
        {
            // A temperature below float's range (1e-40) is greedy: 0 × ∞ would make the best token's weight NaN.
            return ArgMax(logits);
        }

        var weights = scratch.Weights(n);
        if (p.TopK <= 0 && p.TopP >= 1.0)
        {
            // Plain temperature sampling needs no sort: exp((l - max) / T) over the whole vocabulary.
            TensorPrimitives.Subtract(logits, TensorPrimitives.Max(logits), weights);
            TensorPrimitives.Multiply(weights, invT, weights);
            TensorPrimitives.Exp(weights, weights);
            return Draw(weights, TensorPrimitives.Sum<float>(weights), random, null);
        }

        // Top-k / top-p: weights over the whole vocabulary (vectorized), then only the candidates that can matter are
        // sorted, not the whole vocabulary (a full sort of every row every step cost more than the rest of sampling).
        var keys = scratch.Keys(n);
        var order = scratch.Order(n);
        TensorPrimitives.Negate(logits, keys);
        TensorPrimitives.Add(keys, TensorPrimitives.Max(logits), weights);
        TensorPrimitives.Multiply(weights, -invT, weights);
        TensorPrimitives.Exp(weights, weights);
        var k = p.TopK > 0 ? Math.Min(p.TopK, n) : n;
        var all = p.TopK > 0 ? 0f : TensorPrimitives.Sum<float>(weights);

        // Candidates are the weights at or above a cut (the best token's weight is 1). They are a prefix of the sorted
        // order, so they hold the top k once there are k of them, and the nucleus once the walk below ends inside
        // them; otherwise the cut is lowered, down to 0 (every token).
        for (var cut = 1e-3f; ; cut = cut > 1e-9f ? cut / 64 : 0)
        {
            var m = 0;
            for (var i = 0; i < n; i++)
            {
                if (weights[i] >= cut)
                {
                    order[m] = i;
                    keys[m++] = -weights[i];
                }
            }

            if (p.TopK > 0 && m < k && cut > 0)
            {
                continue;
            }

            // Descending weight; Array.Sort is deterministic, so ties always come out in the same order.
            keys[..m].Sort(order.AsSpan(0, m));
            var kept = Math.Min(k, m);
            var probs = keys[..kept];
            TensorPrimitives.Negate(probs, probs);
            var total = p.TopK > 0 ? TensorPrimitives.Sum<float>(probs) : all;

            // Nucleus: the smallest prefix whose probability reaches top_p.
            if (p.TopP < 1.0)
            {
                double cumulative = 0;
                var reached = false;
                for (var i = 0; i < kept; i++)
                {
                    cumulative += probs[i] / total;
                    if (cumulative >= p.TopP)
                    {
                        kept = i + 1;
                        reached = true;
                        break;
                    }
                }

                if (!reached && p.TopK <= 0 && m < n && cut > 0)
                {
                    continue;
                }
            }

            return Draw(probs[..kept], TensorPrimitives.Sum<float>(probs[..kept]), random, order);
        }
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

        // The vectorized float sum can exceed the sequential double subtraction by a rounding, leaving u above zero
        // here: the answer is then the last token that can be drawn, not the last index (often a padded logit).
        var last = weights.Length - 1;
        while (last > 0 && weights[last] <= 0)
        {
            last--;
        }

        return order is null ? last : order[last];
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
    private float[] _adjusted = [];

    internal Span<float> Weights(int n) => (_weights.Length >= n ? _weights : _weights = new float[n]).AsSpan(0, n);

    internal Span<float> Keys(int n) => (_keys.Length >= n ? _keys : _keys = new float[n]).AsSpan(0, n);

    /// <summary>Room for one row's logits after <see cref="LogitAdjuster.Apply"/> (only requests with a bias or penalty).</summary>
    public Span<float> Adjusted(int n) => (_adjusted.Length >= n ? _adjusted : _adjusted = new float[n]).AsSpan(0, n);

    internal int[] Order(int n) => _order.Length == n ? _order : _order = new int[n];
}
