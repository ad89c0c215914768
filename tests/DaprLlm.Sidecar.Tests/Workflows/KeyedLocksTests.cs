using DaprLlm.Sidecar.Workflows;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>The engine's per-instance locks (source linked from the sidecar): no entry outlives its last user.</summary>
public sealed class KeyedLocksTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Keeps_no_entry_for_keys_locked_once_and_released()
    {
        var locks = new KeyedLocks();

        for (var i = 0; i < 10_000; i++)
        {
            using var _ = await locks.LockAsync($"missing-{Guid.NewGuid():N}", Ct);
        }

        Assert.Equal(0, locks.Count);
    }

    [Fact]
    public async Task Lets_one_holder_in_per_key_and_drops_the_entry_after_the_last()
    {
        var locks = new KeyedLocks();
        var first = await locks.LockAsync("k", Ct);
        var other = await locks.LockAsync("other", Ct);

        var second = locks.LockAsync("k", Ct);
        Assert.False(second.IsCompleted);
        other.Dispose();
        first.Dispose();
        (await second).Dispose();

        Assert.Equal(0, locks.Count);
    }

    [Fact]
    public async Task Drops_the_entry_of_a_cancelled_waiter()
    {
        var locks = new KeyedLocks();
        var held = await locks.LockAsync("k", Ct);
        using var cancel = new CancellationTokenSource();

        var waiter = locks.LockAsync("k", cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
        held.Dispose();

        Assert.Equal(0, locks.Count);
    }
}
