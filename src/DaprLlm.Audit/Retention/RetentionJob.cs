using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Retention;

/// <summary>What one retention run did in one region.</summary>
public sealed record RetentionResult(string Region, int SegmentsArchived, long RecordsArchived, int SegmentsDeleted);

/// <summary>
/// Moves records past their tenant's hot period into archive segments and deletes segments past their archive period.
/// Only a prefix of the chain moves (it stops at the first record still hot), so the hot chain always continues from
/// the last segment's hash. Each step is idempotent: the file is rewritten identically, the database step (segment
/// row + delete of its hot rows) is one transaction, a deleted segment keeps its row as a tombstone. So an
/// interrupted run is simply run again.
/// </summary>
public sealed class RetentionJob(AuditOptions options, TimeProvider time, IArchiveUploader? uploader = null)
{
    /// <summary>Test hook: runs after a segment file is written, before the database commit (to simulate a crash).</summary>
    public Func<ArchiveSegment, Task>? BeforeCommit { get; set; }

    // One run per region at a time (the hourly job, the admin API and the CLI can start one together), and verify
    // waits for it: two runs reading the same aged records deleted each other's segment files as "leftovers".
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _regionLocks = new(StringComparer.Ordinal);

    public SegmentArchive ArchiveFor(string region) => new(Path.Combine(options.ArchiveDirectory, region));

    /// <summary>Runs work while no retention run changes this region's segments (verify reads a consistent archive).</summary>
    public async Task<T> ExclusiveAsync<T>(string region, Func<Task<T>> work, CancellationToken cancellationToken)
    {
        var gate = _regionLocks.GetOrAdd(region, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await work();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Runs beside ingestion without blocking it: the writer only appends after its in-memory head, and this job only
    /// reads and removes records before the first one still hot, so the two never touch the same rows.
    /// </summary>
    public Task<RetentionResult> RunAsync(ChainWriter writer, CancellationToken cancellationToken) =>
        ExclusiveAsync(writer.Store.Region, () => RunExclusiveAsync(writer, cancellationToken), cancellationToken);

    private async Task<RetentionResult> RunExclusiveAsync(ChainWriter writer, CancellationToken cancellationToken)
    {
        var store = writer.Store;
        var archive = ArchiveFor(store.Region);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var archived = 0;
        long moved = 0;
        while (true)
        {
            var segments = await store.ReadSegmentsAsync(cancellationToken);
            var anchor = segments.Count == 0 ? ChainHead.Genesis : new ChainHead(segments[^1].LastSeq, segments[^1].LastHash);
            var batch = new List<AuditRecord>();
            long deleteAfter = 0;
            await foreach (var record in store.ReadAsync(anchor.Seq + 1, anchor.Seq + options.SegmentMaxRecords, cancellationToken))
            {
                var policy = options.PolicyFor(record.Entry.TenantId);
                if (record.RecordedAtMs + Days(policy.HotDays) > now)
                {
                    break;
                }

                batch.Add(record);
                deleteAfter = Math.Max(deleteAfter, record.RecordedAtMs + Days(policy.HotDays + policy.ArchiveDays));
            }

            // Never cut the chain in the middle: a segment must start right after the anchor.
            if (batch.Count == 0 || batch[0].Seq != anchor.Seq + 1 || batch[0].PrevHash != anchor.Hash)
            {
                break;
            }

            var fileName = SegmentArchive.FileNameFor(batch[0].Seq, batch[^1].Seq);
            foreach (var leftover in archive.LeftoversOf(batch[0].Seq, fileName))
            {
                // A run interrupted before its commit wrote (and may have uploaded) a segment from this same first record
                // that is no longer the one to keep (more records have aged since): nothing else would ever delete it.
                if (uploader is not null)
                {
                    await uploader.DeleteAsync(store.Region, leftover, cancellationToken);
                }

                archive.Delete(leftover);
            }

            var sha = await archive.WriteAsync(fileName, batch, cancellationToken);
            var segment = new ArchiveSegment(batch[0].Seq, batch[^1].Seq, batch[0].PrevHash, batch[^1].Hash, fileName, sha, now, deleteAfter, null);
            if (uploader is not null)
            {
                // Uploaded before the hot rows go: a crash in between re-uploads the same bytes on the next run.
                await uploader.UploadAsync(store.Region, archive.Directory, fileName, cancellationToken);
            }

            if (BeforeCommit is { } hook)
            {
                await hook(segment);
            }

            await store.CommitSegmentAsync(segment, cancellationToken);
            archived++;
            moved += batch.Count;
        }

        var deleted = 0;
        foreach (var segment in await store.ReadSegmentsAsync(cancellationToken))
        {
            if (segment.DeletedAtMs is null && segment.DeleteAfterMs <= now)
            {
                if (uploader is not null)
                {
                    await uploader.DeleteAsync(store.Region, segment.FileName, cancellationToken);
                }

                archive.Delete(segment);
                await store.MarkSegmentDeletedAsync(segment.FirstSeq, now, cancellationToken);
                deleted++;
            }
        }

        return new RetentionResult(store.Region, archived, moved, deleted);
    }

    private static long Days(int days) => days * 86_400_000L;
}
