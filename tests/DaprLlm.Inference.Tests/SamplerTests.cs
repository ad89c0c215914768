using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Tests.Reference;

namespace DaprLlm.Inference.Tests;

public sealed class SamplerTests
{
    private static readonly float[] Logits = [0.1f, 2.0f, 1.9f, -1f, 0.5f];

    [Fact]
    public void Temperature_zero_is_greedy()
    {
        Assert.Equal(1, Sampler.Sample(Logits, Params(0), new Random(1)));
    }

    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(0, 0.9)]
    [InlineData(5, 1.0)]
    public void A_temperature_below_float_range_is_greedy_not_nan(int topK, double topP)
    {
        for (var seed = 0; seed < 20; seed++)
        {
            Assert.Equal(1, Sampler.Sample(Logits, Params(1e-40, topP, topK), new Random(seed)));
        }
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

    [Theory]
    [InlineData(0.8, 0.9, 0)]
    [InlineData(1.0, 0.5, 0)]
    [InlineData(1.5, 0.95, 0)]
    [InlineData(0.7, 1.0, 40)]
    [InlineData(1.0, 0.9, 40)]
    [InlineData(1.2, 1.0, 5)]
    [InlineData(1.0, 0.99, 2048)]
    [InlineData(1.0, 1.0, 5000)]
    public void Top_k_and_top_p_draw_the_tokens_of_a_full_sort_of_the_vocabulary(double temperature, double topP, int topK)
    {
        // Candidates only (the sampler) against the whole vocabulary sorted (the reference): same seed, same tokens.
        var data = new Random(42);
        var scratch = new SamplerScratch();
        var p = Params(temperature, topP, topK);
        for (var row = 0; row < 300; row++)
        {
            var logits = new float[2048];
            for (var i = 0; i < logits.Length; i++)
            {
                // Roughly what the demo model gives: a few strong tokens over a broad tail.
                logits[i] = (float)(data.NextDouble() * 6 - 3 + (data.Next(50) == 0 ? 8 : 0));
            }

            Assert.Equal(FullSortSampler.Sample(logits, p, new Random(row)), Sampler.Sample(logits, p, new Random(row), scratch));
        }
    }

    [Fact]
    public void A_flat_distribution_still_finds_its_whole_nucleus()
    {
        // Every weight equal: no cut above 0 holds 95 % of the mass until the last; the draw covers the vocabulary.
        var logits = new float[512];
        var seen = Enumerable.Range(0, 3000).Select(s => Sampler.Sample(logits, Params(1.0, topP: 0.95), new Random(s))).ToHashSet();

        Assert.True(seen.Count > 400, $"{seen.Count} distinct tokens");
        Assert.All(seen, t => Assert.InRange(t, 0, 511));
    }

    [Fact]
    public void A_draw_at_the_top_of_the_float_sum_never_picks_a_token_of_weight_zero()
    {
        // Weights 1, e^-16.3 (above half a float ulp of 1) and 0 (a padded logit): their float sum rounds up past their
        // exact sum, so a draw just below that sum is still above zero after subtracting every weight.
        float[] logits = [0f, -16.3f, -1e9f];

        Assert.Equal(1, Sampler.Sample(logits, Params(1.0), new TopOfRangeRandom()));
    }

    /// <summary>Always draws the largest double below 1.</summary>
    private sealed class TopOfRangeRandom : Random
    {
        public override double NextDouble() => Math.BitDecrement(1.0);
    }

    private static SamplingParameters Params(double temperature, double topP = 1.0, int topK = 0) =>
        new(16, temperature, topP, topK, null, []);
}
