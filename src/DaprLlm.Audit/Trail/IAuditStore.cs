namespace DaprLlm.Audit.Trail;

/// <summary>
/// One region's append-only trail: hash-chained records, signed checkpoints, archive segments (retention) and the
/// per-subject keys used for crypto-shredding. A single writer per store (the app's <see cref="ChainWriter"/>).
/// </summary>
public interface IAuditStore : IAsyncDisposable
{
    string Region { get; }

    /// <summary>Creates the schema when missing.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>The last hot record, else the last archived one, else genesis.</summary>
    Task<ChainHead> ReadHeadAsync(CancellationToken cancellationToken);

    /// <summary>Which of these event ids are already stored (hot or archived).</summary>
    Task<HashSet<string>> FindExistingAsync(IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken);

    /// <summary>Writes records (and optionally a checkpoint) in one transaction; a duplicate event id fails it.</summary>
    Task AppendAsync(IReadOnlyList<AuditRecord> records, Checkpoint? checkpoint, CancellationToken cancellationToken);

    /// <summary>Hot records in seq order, from <paramref name="fromSeq"/> up to <paramref name="toSeq"/> inclusive.</summary>
    IAsyncEnumerable<AuditRecord> ReadAsync(long fromSeq, long toSeq, CancellationToken cancellationToken);

    /// <summary>
    /// Hot records from <paramref name="fromSeq"/> on, in seq order, as the links verify walks, each with its own hash
    /// already checked: stores read the columns in whatever form hashes fastest.
    /// </summary>
    IAsyncEnumerable<ChainLink> ReadLinksAsync(long fromSeq, CancellationToken cancellationToken);

    Task<AuditRecord?> GetByEventIdAsync(string eventId, CancellationToken cancellationToken);

    /// <summary>Hot records about one request or review id.</summary>
    Task<List<AuditRecord>> ReadByRefIdAsync(string refId, CancellationToken cancellationToken);

    /// <summary>Hot records of one pseudonymized data subject, in seq order.</summary>
    Task<List<AuditRecord>> ReadBySubjectAsync(string tenantId, string subject, CancellationToken cancellationToken);

    Task<List<Checkpoint>> ReadCheckpointsAsync(CancellationToken cancellationToken);

    Task<List<ArchiveSegment>> ReadSegmentsAsync(CancellationToken cancellationToken);

    /// <summary>Records an archive segment and removes its records from the hot table, atomically; a no-op when already done.</summary>
    Task CommitSegmentAsync(ArchiveSegment segment, CancellationToken cancellationToken);

    Task MarkSegmentDeletedAsync(long firstSeq, long deletedAtMs, CancellationToken cancellationToken);

    /// <summary>The subject's content key, created with <paramref name="newKey"/> when it has none.</summary>
    Task<byte[]> GetOrCreateSubjectKeyAsync(string tenantId, string subject, Func<byte[]> newKey, CancellationToken cancellationToken);

    Task<byte[]?> GetSubjectKeyAsync(string tenantId, string subject, CancellationToken cancellationToken);

    /// <summary>
    /// Destroys the subject's key (crypto-shredding) and remembers when (<paramref name="erasedAtMs"/>); true when there was one.
    /// </summary>
    Task<bool> DeleteSubjectKeyAsync(string tenantId, string subject, long erasedAtMs, CancellationToken cancellationToken);

    /// <summary>When the subject was last erased (ms since the epoch), or null: events from before must stay unreadable.</summary>
    long? ErasedAt(string tenantId, string subject);
}

/// <summary>A compressed JSONL file of records [FirstSeq, LastSeq] that continues the chain from <see cref="PrevHash"/>.</summary>
public sealed record ArchiveSegment(
    long FirstSeq,
    long LastSeq,
    string PrevHash,
    string LastHash,
    string FileName,
    string FileSha256,
    long CreatedAtMs,
    long DeleteAfterMs,
    long? DeletedAtMs);
