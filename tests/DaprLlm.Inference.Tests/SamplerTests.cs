using DaprLlm.Inference.Batching;

namespace DaprLlm.Inference.Tests;

public sealed class SamplerTests
{
    private static readonly float[] Logits = [0.1f, 2.0f, 1.9f, -1f, 0.5f];

    [Fact]
    public void Temperature_zero_is_greedy()
    {
        Assert.Equal(1, Sampler.Sample(Logits, Params(0), new Random(1)));
    }

    [Fact]
    public void Top_k_one_is_greedy_whatever_the_temperature()
    {
        for (var seed = 0; seed < 50; seed++)
        {
            Assert.Equal(1, Sampler.Sample(Logits, Params(1.5, topK: 1), new Random(seed)));
        }
    }

    [Fact]
    public void Top_k_two_only_draws_the_two_best_tokens()
    {
        var seen = Enumerable.Range(0, 200).Select(s => Sampler.Sample(Logits, Params(2.0, topK: 2), new Random(s))).ToHashSet();

        Assert.Equal(new HashSet<int> { 1, 2 }, seen);
    }

    [Fact]
    public void Small_top_p_keeps_only_the_nucleus()
    {
        var seen = Enumerable.Range(0, 200).Select(s => Sampler.Sample(Logits, Params(1.0, topP: 0.3), new Random(s))).ToHashSet();

        Assert.Equal(new HashSet<int> { 1 }, seen);
    }

    [Fact]
    public void Same_seed_draws_the_same_tokens()
    {
        int[] Draw(int seed)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, 20).Select(_ => Sampler.Sample(Logits, Params(1.0), random)).ToArray();
        }

        Assert.Equal(Draw(7), Draw(7));
        Assert.Contains(Enumerable.Range(0, 10), s => !Draw(s).SequenceEqual(Draw(7)));
    }

    private static SamplingParameters Params(double temperature, double topP = 1.0, int topK = 0) =>
        new(16, temperature, topP, topK, null, []);
}
