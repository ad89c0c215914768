using DaprLlm.Outbox.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Outbox.Tests;

/// <summary>
/// The group-commit writer against a real SQLite file: many events per transaction, durable enqueues committed before
/// they complete, a flush at shutdown, and a bounded hand-off. Windows are set to a minute where a test must show that
/// something did not wait for the window; deadlines are 30 s, so such a test fails rather than passes late.
/// </summary>
public sealed class GroupCommitTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private sealed record Sample(string RequestId, int Tokens);

    private static OutboxOptions Options(int windowMs, int maxEvents = 256, int handoff = 8_192, int durableWaitMs = 2_000) => new()
    {
        BatchDelayMs = 0,
        MinBackoffMs = 10,
        MaxBackoffMs = 50,
        CommitWindowMs = windowMs,
        CommitMaxEvents = maxEvents,
        HandoffCapacity = handoff,
        DurableWaitMs = durableWaitMs,
    };

    [Fact]
    public async Task Fire_and_forget_events_enqueued_together_share_one_transaction()
    {
        using var rig = new OutboxRig(Options(windowMs: 60_000));
        for (var i = 0; i < 100; i++)
        {
            Assert.NotNull(rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i)));
        }

        Assert.Equal(0, rig.Outbox.Commits);
        await rig.Outbox.FlushAsync().WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal(100, rig.RowsOnDisk());
        Assert.Equal(1, rig.Outbox.Commits);
    }

    [Fact]
    public async Task A_batch_commits_as_soon_as_it_holds_commit_max_events_without_waiting_for_the_window()
    {
        using var rig = new OutboxRig(Options(windowMs: 60_000, maxEvents: 10));
        for (var i = 0; i < 100; i++)
        {
            rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i));
        }

        await rig.WaitAsync(() => rig.RowsOnDisk() == 100, "ten full batches to be committed");
        Assert.Equal(10, rig.Outbox.Commits);
    }

    [Fact]
    public async Task A_fire_and_forget_event_is_committed_once_the_window_is_over_without_a_flush()
    {
        using var rig = new OutboxRig(Options(windowMs: 20));
        rig.Outbox.Enqueue("t.one", new Sample("req-1", 1));

        await rig.WaitAsync(() => rig.RowsOnDisk() == 1, "the window to end with a commit");
        Assert.Equal(1, rig.Outbox.Commits);
    }

    [Fact]
    public async Task A_durable_enqueue_completes_only_once_its_row_is_readable_from_another_connection_and_takes_pending_events_along()
    {
        using var rig = new OutboxRig(Options(windowMs: 60_000));
        var earlier = Enumerable.Range(0, 5).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();

        var id = await rig.Outbox.EnqueueDurableAsync("t.one", new Sample("req-durable", 5)).WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.NotNull(id);
        Assert.Equal(earlier.Append(id), IdsOnDisk(rig.Path));
        Assert.Equal(1, rig.Outbox.Commits);
    }

    [Fact]
    public void Closing_the_outbox_commits_every_accepted_event_first()
    {
        using var rig = new OutboxRig(Options(windowMs: 60_000));
        var ids = Enumerable.Range(0, 50).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();

        rig.Reopen();

        Assert.Equal(ids, IdsOnDisk(rig.Path));
        Assert.Equal(50, rig.Outbox.Count);
    }

    [Fact]
    public async Task Stopping_the_drain_commits_and_publishes_events_still_in_the_window()
    {
        using var rig = new OutboxRig(Options(windowMs: 60_000));
        using var drain = rig.Drain();
        await drain.StartAsync(TestContext.Current.CancellationToken);
        var ids = Enumerable.Range(0, 10).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();

        await drain.StopAsync(TestContext.Current.CancellationToken).WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal(ids, rig.Sink.SentIds);
        Assert.Equal(0, rig.RowsOnDisk());
    }

    [Fact]
    public async Task A_full_hand_off_refuses_fire_and_forget_events_and_durable_ones_after_a_brief_wait_and_stays_bounded()
    {
        using var rig = new OutboxRig(Options(windowMs: 0, maxEvents: 1, handoff: 16, durableWaitMs: 100));

        // Another connection holds the write lock, so the writer stalls on its first event (as on a stalled disk).
        using var blocker = new SqliteConnection($"Data Source={rig.Path};Pooling=False");
        blocker.Open();
        using (var begin = blocker.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            begin.ExecuteNonQuery();
        }

        var taken = rig.Outbox.Enqueue("t.one", new Sample("req-taken", 0));
        await rig.WaitAsync(() => rig.Outbox.Pending == 0, "the writer to take the first event");
        var queued = Enumerable.Range(1, 16).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))).ToList();
        Assert.All(queued, Assert.NotNull);
        Assert.Equal(16, rig.Outbox.Pending);

        Assert.Null(rig.Outbox.Enqueue("t.one", new Sample("req-refused", 17)));
        Assert.Null(await rig.Outbox.EnqueueDurableAsync("t.one", new Sample("req-refused-durable", 18)));
        Assert.Equal(16, rig.Outbox.Pending);
        Assert.Equal(17, rig.Outbox.Count);

        using (var rollback = blocker.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
        }

        await rig.Outbox.FlushAsync().WaitAsync(Deadline, TestContext.Current.CancellationToken);
        Assert.Equal(queued.Prepend(taken).Select(q => q!), IdsOnDisk(rig.Path));
    }

    private static List<string> IdsOnDisk(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM outbox ORDER BY seq";
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }
}
