using DaprLlm.Gateway.Caching;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>The semantic index's handling of expired entries: they neither hide live ones nor hold the caps.</summary>
public sealed class SemanticIndexExpiryTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Expired_copies_of_a_prompt_never_crowd_the_live_copy_out_of_the_candidates()
    {
        // Two candidate places; a popular prompt re-cached after each expiry leaves older copies at distance 0.
        var index = new SemanticIndex<string>(100, 1000, candidates: 2);
        float[] vector = [0.3f, -0.2f, 0.9f, 0.1f];
        for (var i = 0; i < 4; i++)
        {
            index.Add("p", vector, $"expired-{i}", Start.AddMinutes(i), Start.AddMinutes(i) - TimeSpan.FromMinutes(10));
        }

        index.Add("p", vector, "live", Start.AddHours(1), Start.AddMinutes(5));

        Assert.Equal("live", index.Search("p", vector, 0.99f, Start.AddMinutes(10))?.Value);
    }

    [Fact]
    public void Expired_entries_give_their_room_back_to_the_global_cap()
    {
        var index = new SemanticIndex<string>(100, maxEntries: 2, candidates: 4);
        float[] a = [1, 0, 0, 0];
        float[] b = [0, 1, 0, 0];
        index.Add("tenant-a", a, "a1", Start.AddMinutes(10), Start);
        index.Add("tenant-a", b, "a2", Start.AddMinutes(10), Start);

        // An hour on, tenant a's entries have expired: a new partition must still be able to store.
        var later = Start.AddHours(1);
        index.Add("tenant-b", a, "b1", later.AddMinutes(10), later);

        Assert.Equal("b1", index.Search("tenant-b", a, 0.99f, later)?.Value);
        Assert.Equal(1, index.Count);
    }

    [Fact]
    public void A_full_partition_reuses_expired_slots_before_overwriting_live_entries()
    {
        var index = new SemanticIndex<string>(maxEntriesPerPartition: 2, 1000, candidates: 4);
        float[] live = [1, 0, 0, 0];
        float[] old = [0, 1, 0, 0];
        float[] fresh = [0, 0, 1, 0];
        index.Add("p", live, "live", Start.AddHours(2), Start);
        index.Add("p", old, "old", Start.AddMinutes(1), Start);

        // The ring pointer is at the live entry (slot 0); the expired one must take the new entry instead.
        var later = Start.AddMinutes(30);
        index.Add("p", fresh, "fresh", later.AddHours(1), later);

        Assert.Equal("live", index.Search("p", live, 0.99f, later)?.Value);
        Assert.Equal("fresh", index.Search("p", fresh, 0.99f, later)?.Value);
        Assert.Equal(2, index.Count);
    }

    [Fact]
    public void Partitions_with_no_live_entry_are_dropped_by_the_next_sweep()
    {
        var index = new SemanticIndex<string>(100, 1000, 4, sweepInterval: TimeSpan.FromMinutes(1));
        float[] vector = [1, 2, 3, 4];
        for (var i = 0; i < 50; i++)
        {
            index.Add($"system-prompt-{i}", vector, "x", Start.AddMinutes(10), Start);
        }

        index.Add("kept", vector, "y", Start.AddHours(5), Start);
        Assert.Equal(51, index.PartitionCount);

        // The next add after the interval sweeps: only partitions with a live entry stay.
        var later = Start.AddHours(1);
        index.Add("kept", [4, 3, 2, 1], "z", later.AddHours(1), later);

        Assert.Equal(1, index.PartitionCount);
        Assert.Equal(2, index.Count);
        Assert.Equal("y", index.Search("kept", vector, 0.99f, later)?.Value);
    }
}
