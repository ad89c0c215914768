using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Tests.Infrastructure;

/// <summary>
/// A real store, with its first commit held until the test releases it; records each batch's size. While
/// <see cref="Unreachable"/> is set, commits and head reads fail as they do when the database is down.
/// <see cref="BeforeSubjectKey"/> interleaves work with a key lookup.
/// </summary>
public sealed class GatedStore(IAuditStore inner) : IAuditStore
{
    public TaskCompletionSource FirstCommitEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<int> BatchSizes { get; } = [];

    public bool Unreachable { get; set; }

    /// <summary>Runs once, before the next subject key lookup (to land an erasure between ingestion's check and its key).</summary>
    public Func<Task>? BeforeSubjectKey { get; set; }

    public string Region => inner.Region;

    public async Task AppendAsync(IReadOnlyList<AuditRecord> records, Checkpoint? checkpoint, CancellationToken cancellationToken)
    {
        BatchSizes.Add(records.Count);
        if (FirstCommitEntered.TrySetResult())
        {
            await Release.Task.WaitAsync(cancellationToken);
        }

        ThrowIfUnreachable();

        await inner.AppendAsync(records, checkpoint, cancellationToken);
    }

    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public Task<ChainHead> ReadHeadAsync(CancellationToken cancellationToken)
    {
        ThrowIfUnreachable();
        return inner.ReadHeadAsync(cancellationToken);
    }

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

    public async Task<byte[]> GetOrCreateSubjectKeyAsync(string tenantId, string subject, Func<byte[]> newKey, CancellationToken cancellationToken)
    {
        if (BeforeSubjectKey is { } hook)
        {
            BeforeSubjectKey = null;
            await hook();
        }

        return await inner.GetOrCreateSubjectKeyAsync(tenantId, subject, newKey, cancellationToken);
    }

    public Task<byte[]?> GetSubjectKeyAsync(string tenantId, string subject, CancellationToken cancellationToken) => inner.GetSubjectKeyAsync(tenantId, subject, cancellationToken);

    public Task<bool> DeleteSubjectKeyAsync(string tenantId, string subject, long erasedAtMs, CancellationToken cancellationToken) =>
        inner.DeleteSubjectKeyAsync(tenantId, subject, erasedAtMs, cancellationToken);

    public long? ErasedAt(string tenantId, string subject) => inner.ErasedAt(tenantId, subject);

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private void ThrowIfUnreachable()
    {
        if (Unreachable)
        {
            throw new IOException("the database is unreachable");
        }
    }
}
