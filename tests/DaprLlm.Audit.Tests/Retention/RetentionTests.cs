using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts;

namespace DaprLlm.Audit.Tests.Retention;

/// <summary>Hot → archive → deleted on a fake clock; per-tenant periods; resumable after an interruption.</summary>
public sealed class RetentionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string SegmentArchiveName(long first, long last) => DaprLlm.Audit.Retention.SegmentArchive.FileNameFor(first, last);

    private static async Task IngestDaysAsync(TrailRig rig, string tenant, int count, string? user = null)
    {
        for (var i = 0; i < count; i++)
        {
            await rig.IngestAsync(Topics.RequestCompleted, new { requestId = $"{tenant}-{Guid.NewGuid():N}", tenantId = tenant, userId = user, prompt = "hello" });
        }
    }

    [Fact]
    public async Task Records_move_to_the_archive_after_the_hot_period_and_are_deleted_after_the_archive_period()
    {
        await using var rig = await TrailRig.StartAsync(o => o.SegmentMaxRecords = 7);
        await IngestDaysAsync(rig, "acme", 20);
        var writer = rig.Writer("eu");

        rig.Time.Advance(TimeSpan.FromDays(29));
        var early = await rig.Retention.RunAsync(writer, Ct);
        Assert.Equal(0, early.RecordsArchived);
        Assert.Equal(20, (await rig.AllHotAsync("eu")).Count);

        rig.Time.Advance(TimeSpan.FromDays(1));
        var moved = await rig.Retention.RunAsync(writer, Ct);
        Assert.Equal((3, 20L), (moved.SegmentsArchived, moved.RecordsArchived));
        Assert.Empty(await rig.AllHotAsync("eu"));
        Assert.Equal(3, Directory.GetFiles(rig.Retention.ArchiveFor("eu").Directory, "*.jsonl.gz").Length);
        var report = await rig.VerifyAsync("eu");
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(3, report.SegmentsChecked);

        // New records continue the chain from the last archived hash.
        await IngestDaysAsync(rig, "acme", 2);
        Assert.Equal(21, (await rig.AllHotAsync("eu"))[0].Seq);
        Assert.True((await rig.VerifyAsync("eu")).Ok);

        rig.Time.Advance(TimeSpan.FromDays(7 * 365));
        var deleted = await rig.Retention.RunAsync(writer, Ct);
        Assert.Equal(3, deleted.SegmentsDeleted);
        // The two later records were archived by this run too; their own archive period has not ended.
        Assert.Equal(2, deleted.RecordsArchived);
        var left = Assert.Single(Directory.GetFiles(rig.Retention.ArchiveFor("eu").Directory, "*.jsonl.gz"));
        Assert.EndsWith(SegmentArchiveName(21, 22), left, StringComparison.Ordinal);
        report = await rig.VerifyAsync("eu");
        Assert.True(report.Ok, report.FirstProblem?.Detail);
    }

    [Fact]
    public async Task Hot_periods_are_per_tenant_and_the_chain_moves_only_as_a_prefix()
    {
        await using var rig = await TrailRig.StartAsync(o => o.Tenants["slow"] = new TenantPolicy { HotDays = 90 });
        await IngestDaysAsync(rig, "fast", 5);
        await IngestDaysAsync(rig, "slow", 1);
        await IngestDaysAsync(rig, "fast", 5);

        rig.Time.Advance(TimeSpan.FromDays(31));
        var result = await rig.Retention.RunAsync(rig.Writer("eu"), Ct);
        Assert.Equal(5, result.RecordsArchived);
        Assert.Equal("slow", (await rig.AllHotAsync("eu"))[0].Entry.TenantId);

        rig.Time.Advance(TimeSpan.FromDays(60));
        result = await rig.Retention.RunAsync(rig.Writer("eu"), Ct);
        Assert.Equal(6, result.RecordsArchived);
        Assert.True((await rig.VerifyAsync("eu")).Ok);
    }

    [Fact]
    public async Task Archive_periods_are_per_tenant_and_a_segment_stays_until_its_longest_kept_record_expires()
    {
        await using var rig = await TrailRig.StartAsync(o =>
        {
            o.SegmentMaxRecords = 3;
            o.Tenants["brief"] = new TenantPolicy { ArchiveDays = 365 };
        });
        // Segments: 1-3 only "brief", 4-6 only the default tenant (7 years), 7-9 both.
        await IngestDaysAsync(rig, "brief", 3);
        await IngestDaysAsync(rig, "acme", 3);
        await IngestDaysAsync(rig, "brief", 1);
        await IngestDaysAsync(rig, "acme", 2);
        var writer = rig.Writer("eu");
        var archive = rig.Retention.ArchiveFor("eu").Directory;

        rig.Time.Advance(TimeSpan.FromDays(30));
        Assert.Equal(3, (await rig.Retention.RunAsync(writer, Ct)).SegmentsArchived);

        rig.Time.Advance(TimeSpan.FromDays(365));
        Assert.Equal(1, (await rig.Retention.RunAsync(writer, Ct)).SegmentsDeleted);
        Assert.Equal([SegmentArchiveName(4, 6), SegmentArchiveName(7, 9)],
            Directory.GetFiles(archive, "*.jsonl.gz").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var report = await rig.VerifyAsync("eu");
        Assert.True(report.Ok, report.FirstProblem?.Detail);

        rig.Time.Advance(TimeSpan.FromDays(7 * 365 - 365));
        Assert.Equal(2, (await rig.Retention.RunAsync(writer, Ct)).SegmentsDeleted);
        Assert.Empty(Directory.GetFiles(archive, "*.jsonl.gz"));
        report = await rig.VerifyAsync("eu");
        Assert.True(report.Ok, report.FirstProblem?.Detail);
    }

    [Fact]
    public async Task An_interrupted_run_resumes_without_losing_or_duplicating_records()
    {
        await using var rig = await TrailRig.StartAsync(o => o.SegmentMaxRecords = 4);
        await IngestDaysAsync(rig, "acme", 10);
        rig.Time.Advance(TimeSpan.FromDays(30));
        var crashes = 0;
        rig.Retention.BeforeCommit = segment =>
        {
            // Crash after the second segment's file is written, before its database commit.
            if (segment.FirstSeq == 5 && crashes++ == 0)
            {
                throw new IOException("simulated crash");
            }

            return Task.CompletedTask;
        };

        await Assert.ThrowsAsync<IOException>(() => rig.Retention.RunAsync(rig.Writer("eu"), Ct));
        Assert.Equal(6, (await rig.AllHotAsync("eu")).Count);
        Assert.True((await rig.VerifyAsync("eu")).Ok);

        var resumed = await rig.Retention.RunAsync(rig.Writer("eu"), Ct);
        Assert.Equal(6, resumed.RecordsArchived);
        var segments = await rig.Writer("eu").Store.ReadSegmentsAsync(Ct);
        Assert.Equal([(1L, 4L), (5L, 8L), (9L, 10L)], segments.Select(s => (s.FirstSeq, s.LastSeq)));
        var report = await rig.VerifyAsync("eu");
        Assert.True(report.Ok, report.FirstProblem?.Detail);
    }

    [Fact]
    public async Task A_segment_left_by_an_interrupted_run_is_removed_when_the_next_run_archives_a_longer_one_from_the_same_record()
    {
        await using var rig = await TrailRig.StartAsync(o => o.SegmentMaxRecords = 4);
        await IngestDaysAsync(rig, "acme", 10);
        rig.Time.Advance(TimeSpan.FromDays(30));
        var crashes = 0;
        rig.Retention.BeforeCommit = segment => segment.FirstSeq == 9 && crashes++ == 0 ? throw new IOException("simulated crash") : Task.CompletedTask;
        await Assert.ThrowsAsync<IOException>(() => rig.Retention.RunAsync(rig.Writer("eu"), Ct));
        var archive = rig.Retention.ArchiveFor("eu").Directory;
        Assert.True(File.Exists(Path.Combine(archive, "segment-000000000009-000000000010.jsonl.gz")));

        // Two more records age before the next run: the segment from record 9 is now 9-12.
        await IngestDaysAsync(rig, "acme", 2);
        rig.Time.Advance(TimeSpan.FromDays(30));
        await rig.Retention.RunAsync(rig.Writer("eu"), Ct);

        var segments = await rig.Writer("eu").Store.ReadSegmentsAsync(Ct);
        Assert.Equal([(1L, 4L), (5L, 8L), (9L, 12L)], segments.Select(s => (s.FirstSeq, s.LastSeq)));
        Assert.Equal(segments.Select(s => s.FileName).Order(), Directory.GetFiles(archive, "*.jsonl.gz").Select(f => Path.GetFileName(f)).Order());
        Assert.Equal(3, Directory.GetFiles(archive, "*.manifest.json").Length);
        Assert.True((await rig.VerifyAsync("eu")).Ok);
    }

    [Fact]
    public async Task Two_runs_started_together_in_one_region_take_turns_and_lose_no_segment()
    {
        await using var rig = await TrailRig.StartAsync(o => o.SegmentMaxRecords = 4);
        await IngestDaysAsync(rig, "acme", 2);
        rig.Time.Advance(TimeSpan.FromDays(30));
        var firstHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondAtCommit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseSecond = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Retention.BeforeCommit = async segment =>
        {
            if (segment is { FirstSeq: 1, LastSeq: 2 })
            {
                firstHeld.TrySetResult();
                await releaseFirst.Task;
            }
            else if (segment is { FirstSeq: 1, LastSeq: 4 })
            {
                // Only reachable when the second run read records the first one was still archiving.
                secondAtCommit.TrySetResult();
                await releaseSecond.Task;
            }
        };

        var first = rig.Retention.RunAsync(rig.Writer("eu"), Ct);
        await firstHeld.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await IngestDaysAsync(rig, "acme", 2);
        rig.Time.Advance(TimeSpan.FromDays(30));
        var second = rig.Retention.RunAsync(rig.Writer("eu"), Ct);

        // Without the per-region lock the second run gets to its commit at once (having deleted the first run's file
        // as a leftover); with it, it waits. Two seconds is only how long it is given to show the first behaviour.
        await Task.WhenAny(secondAtCommit.Task, Task.Delay(TimeSpan.FromSeconds(2), Ct));
        releaseFirst.SetResult();
        await first;
        releaseSecond.TrySetResult();
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await second;
            throw new OperationCanceledException("completed"); // either way the assertions below decide
        });

        var segments = await rig.Writer("eu").Store.ReadSegmentsAsync(Ct);
        var archive = rig.Retention.ArchiveFor("eu").Directory;
        Assert.All(segments, s => Assert.True(File.Exists(Path.Combine(archive, s.FileName)), $"{s.FileName} is missing"));
        Assert.Equal([(1L, 2L), (3L, 4L)], segments.Select(s => (s.FirstSeq, s.LastSeq)));
        Assert.True((await rig.VerifyAsync("eu")).Ok);
    }

    [Fact]
    public async Task Erasure_makes_archived_originals_unreadable_while_the_archive_still_verifies()
    {
        await using var rig = await TrailRig.StartAsync(o => o.Tenants["acme"] = new TenantPolicy { KeepOriginals = true });
        await IngestDaysAsync(rig, "acme", 3, user: "dana");
        rig.Time.Advance(TimeSpan.FromDays(30));
        await rig.Retention.RunAsync(rig.Writer("eu"), Ct);

        var before = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "dana", Ct);
        Assert.Equal(3, before["records"]!.AsArray().Count(i => (string?)i!["originalState"] == "readable"));

        await rig.Subjects.EraseAsync(rig.Writer("eu"), "acme", "dana", "tester", Ct);
        var after = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "dana", Ct);
        Assert.Equal(3, after["records"]!.AsArray().Count(i => (string?)i!["originalState"] == "erased"));
        var report = await rig.VerifyAsync("eu");
        Assert.True(report.Ok, report.FirstProblem?.Detail);
    }

    [Fact]
    public async Task Verify_names_a_tampered_archive_segment()
    {
        await using var rig = await TrailRig.StartAsync();
        await IngestDaysAsync(rig, "acme", 5);
        rig.Time.Advance(TimeSpan.FromDays(30));
        await rig.Retention.RunAsync(rig.Writer("eu"), Ct);
        var file = Directory.GetFiles(rig.Retention.ArchiveFor("eu").Directory, "*.jsonl.gz").Single();
        await File.AppendAllTextAsync(file, "x", Ct);

        var report = await rig.VerifyAsync("eu");
        Assert.False(report.Ok);
        Assert.Equal((1L, ChainProblem.BadSegment), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }

    [Fact]
    public async Task Verify_fails_when_a_segment_is_marked_deleted_before_its_retention_ended()
    {
        await using var rig = await TrailRig.StartAsync();
        await IngestDaysAsync(rig, "acme", 5);
        rig.Time.Advance(TimeSpan.FromDays(30));
        await rig.Retention.RunAsync(rig.Writer("eu"), Ct);
        var segment = Assert.Single(await rig.Writer("eu").Store.ReadSegmentsAsync(Ct));

        // Someone with database access hides an archive (then edits or deletes its file): verify said ok before.
        await rig.Writer("eu").Store.MarkSegmentDeletedAsync(segment.FirstSeq, rig.Time.GetUtcNow().ToUnixTimeMilliseconds(), Ct);
        File.Delete(Path.Combine(rig.Retention.ArchiveFor("eu").Directory, segment.FileName));

        var report = await rig.VerifyAsync("eu");
        Assert.False(report.Ok);
        Assert.Equal((1L, ChainProblem.BadSegment), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }
}
