using DaprLlm.Gateway.Caching;
using DaprLlm.Gateway.Tenants;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>The semantic cache's index (binary prefilter + exact rerank) and the development key's sealing.</summary>
public sealed class SemanticIndexTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch.AddDays(1);

    [Fact]
    public void Finds_the_nearest_vector_among_many_random_ones_and_only_above_the_threshold()
    {
        var random = new Random(42);
        var index = new SemanticIndex<string>(100_000, 100_000, 16);
        var vectors = Enumerable.Range(0, 5_000).Select(_ => RandomVector(random, 384)).ToList();
        for (var i = 0; i < vectors.Count; i++)
        {
            index.Add("t", vectors[i], $"v{i}", Now.AddHours(1), Now);
        }

        for (var i = 0; i < 50; i++)
        {
            var target = random.Next(vectors.Count);
            var query = Perturb(random, vectors[target], 0.05f);
            var match = index.Search("t", query, 0.9f, Now);
            Assert.NotNull(match);
            Assert.Equal($"v{target}", match.Value.Value);
        }

        Assert.Null(index.Search("t", RandomVector(random, 384), 0.9f, Now));
    }

    [Fact]
    public void Partitions_are_isolated_and_entries_expire_and_can_be_removed()
    {
        var random = new Random(7);
        var index = new SemanticIndex<string>(100, 1_000, 4);
        var v = RandomVector(random, 64);
        index.Add("tenant-a", v, "a", Now.AddMinutes(1), Now);
        Assert.Null(index.Search("tenant-b", v, 0.5f, Now));
        Assert.Equal("a", index.Search("tenant-a", v, 0.99f, Now)?.Value);
        Assert.Null(index.Search("tenant-a", v, 0.5f, Now.AddMinutes(2)));

        Assert.Equal(1, index.RemoveWhere(s => s == "a"));
        Assert.Null(index.Search("tenant-a", v, 0.5f, Now));
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void A_full_partition_overwrites_its_oldest_entries_so_memory_stays_bounded()
    {
        var random = new Random(3);
        var index = new SemanticIndex<string>(10, 1_000, 4);
        var vectors = Enumerable.Range(0, 25).Select(_ => RandomVector(random, 32)).ToList();
        for (var i = 0; i < vectors.Count; i++)
        {
            index.Add("p", vectors[i], $"v{i}", Now.AddHours(1), Now);
        }

        Assert.Equal(10, index.Count);
        Assert.Null(index.Search("p", vectors[0], 0.99f, Now));
        Assert.Equal("v24", index.Search("p", vectors[24], 0.99f, Now)?.Value);
    }

    [Fact]
    public void The_development_key_is_sealed_and_opens_only_with_the_same_pepper()
    {
        var sealedKey = DevKeyProtector.Seal("pepper", "dl-0123456789ab-secret");
        Assert.DoesNotContain("secret", sealedKey, StringComparison.Ordinal);
        Assert.True(DevKeyProtector.IsSealed(sealedKey));
        Assert.Equal("dl-0123456789ab-secret", DevKeyProtector.Open("pepper", sealedKey));
        Assert.Null(DevKeyProtector.Open("other", sealedKey));
    }

    private static float[] RandomVector(Random random, int dimensions)
    {
        var v = new float[dimensions];
        for (var i = 0; i < v.Length; i++)
        {
            v[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return v;
    }

    private static float[] Perturb(Random random, float[] v, float amount) =>
        v.Select(x => x + (float)(((random.NextDouble() * 2) - 1) * amount)).ToArray();
}
