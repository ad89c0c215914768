using System.Numerics.Tensors;
using DaprLlm.Inference.Batching;

namespace DaprLlm.Inference.Tests.Reference;

/// <summary>
/// Top-k / top-p as <see cref="Sampler"/> did it until session 8: the whole vocabulary sorted per row. It is the tests'
/// reference oracle for the candidate-only sampler and the inference bench's timing baseline (linked there), so both
/// compare against one copy.
/// </summary>
internal static class FullSortSampler
{
    public static int Sample(ReadOnlySpan<float> logits, SamplingParameters p, Random random)
    {
        if (p.TopK <= 0 && p.TopP >= 1.0)
        {
            return Sampler.Sample(logits, p, random); // nothing to cut: the sampler never sorted this case
        }

        var n = logits.Length;
        var invT = (float)(1.0 / p.Temperature);
        var keys = new float[n];
        var order = new int[n];
        TensorPrimitives.Negate(logits, keys);
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }

        keys.AsSpan().Sort(order.AsSpan());
        var k = p.TopK > 0 ? Math.Min(p.TopK, n) : n;
        var probs = new float[k];
        TensorPrimitives.Add(keys.AsSpan(0, k), -keys[0], probs);
        TensorPrimitives.Multiply(probs, -invT, probs);
        TensorPrimitives.Exp(probs, probs);
        var total = TensorPrimitives.Sum<float>(probs);
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

        var u = random.NextDouble() * TensorPrimitives.Sum<float>(probs.AsSpan(0, kept));
        for (var i = 0; i < kept; i++)
        {
            u -= probs[i];
            if (u <= 0)
            {
                return order[i];
            }
        }

        return order[kept - 1];
    }
}
