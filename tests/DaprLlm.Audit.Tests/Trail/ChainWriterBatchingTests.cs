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

    public void Dispose() => _folder.Dispose();

    /// <summary>The real SQLite store, with its first commit held until the test releases it; records each batch's size.</summary>
    private sealed class GatedStore(IAuditStore inner) : IAuditStore
    {
        public TaskCompletionSource FirstCommitEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<int> BatchSizes { get; } = [];

        public string Region => inner.Region;

        public async Task AppendAsync(IReadOnlyList<AuditRecord> records, Checkpoint? checkpoint, CancellationToken cancellationToken)
        {
            BatchSizes.Add(records.Count);
            if (FirstCommitEntered.TrySetResult())
            {
                await Release.Task.WaitAsync(cancellationToken);
            }

            await inner.AppendAsync(records, checkpoint, cancellationToken);
        }

        public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

        public Task<ChainHead> ReadHeadAsync(CancellationToken cancellationToken) => inner.ReadHeadAsync(cancellationToken);

        public Task<HashSet<string>> FindExistingAsync(IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken) => inner.FindExistingAsync(eventIds, cancellationToken);

        public IAsyncEnumerable<AuditRecord> ReadAsync(long fromSeq, long toSeq, CancellationToken cancellationToken) => inner.ReadAsync(fromSeq, toSeq, cancellationToken);

        public IAsyncEnumerable<ChainLink> ReadLinksAsync(long fromSeq, CancellationToken cancellationToken) => inner.ReadLinksAsync(fromSeq, cancellationToken);

        public Task<AuditRecord?> GetByEventIdAsync(string eventId, CancellationToken cancellationToken) => inner.GetByEventIdAsync(eventId, cancellationToken);

        public Task<List<AuditRecord>> ReadByRefIdAsync(string refId, CancellationToken cancellationToken) => inner.ReadByRefIdAsync(refId, cancellationToken);

        public Task<List<AuditRecord>> ReadBySubjectAsync(string tenantId, string subject, CancellationToken cancellationToken) => inner.ReadBySubjectAsync(tenantId, subject, cancellationToken);

        public Task<List<Checkpoint>> ReadCheckpointsAsync(CancellationToken cancellationToken) => inner.ReadCheckpointsAsync(cancellationToken);

        public Task<List<ArchiveSegment>> ReadSegmentsAsync(CancellationToken cancellationToken) => inner.ReadSegmentsAsync(cancellationToken);

        public Task CommitSegmentAsync(ArchiveSegment segment, CancellationToken cancellationToken) => inner.CommitSegmentAsync(segment, cancellationToken);

        public Task MarkSegmentDeletedAsync(long firstSeq, long deletedAtMs, CancellationToken cancellationToken) => inner.MarkSegmentDeletedAsync(firstSeq, deletedAtMs, cancellationToken);

        public Task<byte[]> GetOrCreateSubjectKeyAsync(string tenantId, string subject, Func<byte[]> newKey, CancellationToken cancellationToken) =>
            inner.GetOrCreateSubjectKeyAsync(tenantId, subject, newKey, cancellationToken);

        public Task<byte[]?> GetSubjectKeyAsync(string tenantId, string subject, CancellationToken cancellationToken) => inner.GetSubjectKeyAsync(tenantId, subject, cancellationToken);

        public Task<bool> DeleteSubjectKeyAsync(string tenantId, string subject, CancellationToken cancellationToken) => inner.DeleteSubjectKeyAsync(tenantId, subject, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
