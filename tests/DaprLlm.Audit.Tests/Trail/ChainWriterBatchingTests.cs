using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Audit.Trail;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Audit.Tests.Trail;

/// <summary>
/// Appends that queue while a commit is in progress go to the store together, in one transaction of up to MaxBatch
/// records (the throughput half of ingestion). The commit is held open by a gate so the test does not race the writer.
/// </summary>
public sealed class ChainWriterBatchingTests : IDisposable
{
    private readonly TempFolder _folder = new("daprllm-audit-batching");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Appends_queued_during_a_commit_are_written_together_in_batches_of_at_most_max_batch()
    {
        await using var store = new GatedStore(new SqliteAuditStore("eu", Path.Combine(_folder.Path, "eu.db")));
        await using var writer = new ChainWriter(store, new CheckpointSigner(Entries.CheckpointKey), TimeProvider.System, maxBatch: 64, checkpointEvery: 1000);
        await writer.StartAsync(Ct);

        var first = writer.AppendAsync(Entries.Make(1), Ct);
        await store.FirstCommitEntered.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        // 100 more arrive while the first commit is held: they must leave in two batches (64 + 36), not one by one.
        var rest = Enumerable.Range(2, 100).Select(n => writer.AppendAsync(Entries.Make(n), Ct)).ToList();
        store.Release.SetResult();

        Assert.Equal(AppendOutcome.Stored, await first);
        Assert.All(await Task.WhenAll(rest), o => Assert.Equal(AppendOutcome.Stored, o));
        Assert.Equal([1, 64, 36], store.BatchSizes);
        var report = await new ChainVerifier(new CheckpointSigner(Entries.CheckpointKey)).VerifyAsync(store, null, Ct);
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(101, report.RecordsChecked);
    }

    [Fact]
    public async Task When_the_database_is_down_a_failed_batch_is_refused_at_once_not_retried_entry_by_entry()
    {
        await using var store = new GatedStore(new SqliteAuditStore("eu", Path.Combine(_folder.Path, "down.db")));
        await using var writer = new ChainWriter(store, new CheckpointSigner(Entries.CheckpointKey), TimeProvider.System, maxBatch: 64, checkpointEvery: 1000);
        await writer.StartAsync(Ct);

        var first = writer.AppendAsync(Entries.Make(1), Ct);
        await store.FirstCommitEntered.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var rest = Enumerable.Range(2, 10).Select(n => writer.AppendAsync(Entries.Make(n), Ct)).ToList();
        store.Unreachable = true;
        store.Release.SetResult();

        await Assert.ThrowsAsync<IOException>(() => first);
        foreach (var append in rest)
        {
            await Assert.ThrowsAsync<IOException>(() => append);
        }

        // One try for the held entry and one for the batch: the head could not be read, so no entry-by-entry retry.
        Assert.Equal([1, 10], store.BatchSizes);

        store.Unreachable = false;
        Assert.Equal(AppendOutcome.Stored, await writer.AppendAsync(Entries.Make(1), Ct));
    }

    public void Dispose() => _folder.Dispose();
}
