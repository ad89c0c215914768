namespace DaprLlm.Audit.Trail;

/// <summary>
/// Walks a region's chain (archive manifests, then hot records) and names the first record that was altered, removed
/// or inserted. Content changes break a record's own hash; removals and insertions break the prev-hash links, and the
/// shape of the break tells them apart: a row skipped by its successor's link was inserted, a link to a row that is
/// not there means one was removed. Signed checkpoints pin the chain so a rewritten tail is caught too.
/// </summary>
public sealed class ChainVerifier(CheckpointSigner signer)
{
    /// <summary>Verifies the region's chain and counts the result (telemetry: verify runs tagged by region and ok).</summary>
    public async Task<VerifyReport> VerifyAsync(IAuditStore store, Func<ArchiveSegment, CancellationToken, Task<string?>>? checkSegmentFile, CancellationToken cancellationToken)
    {
        var report = await WalkAsync(store, checkSegmentFile, cancellationToken);
        AuditMetrics.Verifications.Add(1, new KeyValuePair<string, object?>("region", report.Region), new KeyValuePair<string, object?>("ok", report.Ok));
        AuditMetrics.RecordsVerified.Add(report.RecordsChecked, new KeyValuePair<string, object?>("region", report.Region));
        return report;
    }

    private async Task<VerifyReport> WalkAsync(IAuditStore store, Func<ArchiveSegment, CancellationToken, Task<string?>>? checkSegmentFile, CancellationToken cancellationToken)
    {
        var segments = await store.ReadSegmentsAsync(cancellationToken);
        var checkpoints = await store.ReadCheckpointsAsync(cancellationToken);
        var anchor = ChainHead.Genesis;
        var segmentsChecked = 0;
        foreach (var segment in segments)
        {
            if (segment.FirstSeq != anchor.Seq + 1 || segment.PrevHash != anchor.Hash)
            {
                return Fail(store.Region, 0, segmentsChecked, anchor.Seq + 1, new ChainProblem(segment.FirstSeq, ChainProblem.BadSegment,
                    $"archive segment {segment.FileName} does not continue the chain at seq {anchor.Seq + 1}"));
            }

            // A tombstone before the segment's retention ended is how a deleted (or swapped) archive would hide: only
            // the retention job marks segments deleted, and never early.
            if (segment.DeletedAtMs is { } deletedAt && deletedAt < segment.DeleteAfterMs)
            {
                return Fail(store.Region, 0, segmentsChecked, segment.FirstSeq, new ChainProblem(segment.FirstSeq, ChainProblem.BadSegment,
                    $"archive segment {segment.FileName} is marked deleted before its retention ended"));
            }

            if (segment.DeletedAtMs is null && checkSegmentFile is not null && await checkSegmentFile(segment, cancellationToken) is { } segmentProblem)
            {
                return Fail(store.Region, 0, segmentsChecked, segment.FirstSeq, new ChainProblem(segment.FirstSeq, ChainProblem.BadSegment, segmentProblem));
            }

            segmentsChecked++;
            anchor = new ChainHead(segment.LastSeq, segment.LastHash);
        }

        // Checkpoints inside archived ranges were checked when their records were hot; the manifests carry on from there.
        var pending = new Queue<Checkpoint>();
        var checkpointsChecked = 0;
        foreach (var checkpoint in checkpoints.Where(c => c.Seq > anchor.Seq))
        {
            if (!signer.IsValid(checkpoint) || checkpoint.Region != store.Region)
            {
                return Fail(store.Region, 0, segmentsChecked, anchor.Seq + 1, new ChainProblem(checkpoint.Seq, ChainProblem.BadCheckpoint, "checkpoint signature does not verify"));
            }

            pending.Enqueue(checkpoint);
        }

        var last = anchor;
        string? beforeLast = null;
        long count = 0;
        long lastSignedSeq = anchor.Seq;
        await using var rows = store.ReadLinksAsync(anchor.Seq + 1, cancellationToken).GetAsyncEnumerator(cancellationToken);
        var hasNext = await rows.MoveNextAsync();
        while (hasNext)
        {
            var current = rows.Current;
            hasNext = await rows.MoveNextAsync();
            ChainLink? next = hasNext ? rows.Current : null;

            var ownHashOk = current.HashMatches;
            if (current.PrevHash != last.Hash)
            {
                var gap = current.Seq != last.Seq + 1;
                var problem =
                    beforeLast is not null && current.PrevHash == beforeLast
                        ? new ChainProblem(last.Seq, ChainProblem.Inserted, $"record {last.Seq} is not linked from its successor: it was inserted")
                    : next?.PrevHash == last.Hash
                        ? new ChainProblem(current.Seq, ChainProblem.Inserted, $"record {current.Seq} is skipped by the chain: it was inserted")
                    : next?.PrevHash == current.Hash
                        // The successor vouches for this record, so either its own link was edited or its predecessor is gone.
                        ? ownHashOk
                            ? new ChainProblem(gap ? last.Seq + 1 : current.Seq, ChainProblem.Removed, $"the record(s) before {current.Seq} were removed")
                            : new ChainProblem(current.Seq, ChainProblem.Altered, $"record {current.Seq} does not match its hash")
                    : gap
                        ? new ChainProblem(last.Seq + 1, ChainProblem.Removed, $"record(s) {last.Seq + 1}..{current.Seq - 1} were removed")
                    : next is null
                        ? new ChainProblem(current.Seq, ChainProblem.Inserted, $"record {current.Seq} does not continue the chain from {last.Seq}")
                        : new ChainProblem(current.Seq, ChainProblem.Altered, $"record {current.Seq} does not continue the chain from {last.Seq}");
                return Fail(store.Region, count, segmentsChecked, anchor.Seq + 1, problem, checkpointsChecked, current.Seq);
            }

            if (!ownHashOk)
            {
                var problem = next?.PrevHash == last.Hash
                    ? new ChainProblem(current.Seq, ChainProblem.Inserted, $"record {current.Seq} is skipped by the chain: it was inserted")
                    : new ChainProblem(current.Seq, ChainProblem.Altered, $"record {current.Seq} does not match its hash");
                return Fail(store.Region, count, segmentsChecked, anchor.Seq + 1, problem, checkpointsChecked, current.Seq);
            }

            // A checkpoint names the hash at its seq; a record under that seq must carry exactly that hash.
            while (pending.TryPeek(out var checkpoint) && checkpoint.Seq <= current.Seq)
            {
                pending.Dequeue();
                var seq = checkpoint.Seq;
                if (seq != current.Seq)
                {
                    return Fail(store.Region, count, segmentsChecked, anchor.Seq + 1,
                        new ChainProblem(seq, ChainProblem.Removed, $"signed checkpoint at seq {seq} names a record that is not there"), checkpointsChecked, current.Seq);
                }

                if (checkpoint.Hash != current.Hash)
                {
                    return Fail(store.Region, count, segmentsChecked, anchor.Seq + 1,
                        new ChainProblem(seq, ChainProblem.Altered, $"record {seq} differs from its signed checkpoint"), checkpointsChecked, current.Seq);
                }

                checkpointsChecked++;
                lastSignedSeq = seq;
            }

            beforeLast = last.Hash;
            last = new ChainHead(current.Seq, current.Hash);
            count++;
        }

        if (pending.Count > 0)
        {
            var missing = pending.Peek().Seq;
            return Fail(store.Region, count, segmentsChecked, anchor.Seq + 1,
                new ChainProblem(last.Seq + 1, ChainProblem.Removed, $"records after {last.Seq} were removed: a signed checkpoint names seq {missing}"), checkpointsChecked, last.Seq);
        }

        return new VerifyReport(store.Region, true, count, checkpointsChecked, segmentsChecked, anchor.Seq + 1, last.Seq, last.Seq - lastSignedSeq, null);
    }

    private static VerifyReport Fail(string region, long count, int segments, long firstSeq, ChainProblem problem, int checkpoints = 0, long lastSeq = 0) =>
        new(region, false, count, checkpoints, segments, firstSeq, lastSeq, 0, problem);
}
