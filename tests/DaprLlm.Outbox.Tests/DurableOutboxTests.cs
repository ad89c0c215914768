using System.Diagnostics;
using System.Text.Json;
using DaprLlm.Outbox.Tests.Infrastructure;

namespace DaprLlm.Outbox.Tests;

/// <summary>The outbox against a real SQLite file: append, drain, delete after the ack, reopen, retry, cap.</summary>
public sealed class DurableOutboxTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Sample(string RequestId, int Tokens);

    [Fact]
    public async Task Enqueued_events_are_published_oldest_first_and_deleted_only_after_the_sidecar_accepted_them()
    {
        using var rig = new OutboxRig();
        var ids = Enumerable.Range(0, 30).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();
        Assert.Equal(30, rig.Outbox.Count);
        await rig.Outbox.FlushAsync();
        Assert.Equal(30, rig.RowsOnDisk());

        // The sink holds its answer until the test has seen the rows still on disk during the call.
        var gate = new TaskCompletionSource();
        long rowsDuringCall = -1;
        var sink = new GatedSink(async () =>
        {
            rowsDuringCall = rig.RowsOnDisk();
            await gate.Task;
        });
        using var drain = new OutboxDrain(rig.Outbox, sink, rig.Options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<OutboxDrain>.Instance);
        await drain.StartAsync(Ct);
        await rig.WaitAsync(() => rowsDuringCall >= 0, "the first publish call");
        Assert.Equal(30, rowsDuringCall);
        gate.SetResult();
        await rig.WaitAsync(() => rig.Outbox.Count == 0, "the rows to be deleted");
        await drain.StopAsync(Ct);

        Assert.Equal(0, rig.RowsOnDisk());
        Assert.Equal(ids, sink.Sent.Select(m => RecordingSink.Id(m.CloudEvent)));
    }

    [Fact]
    public async Task The_stored_event_is_a_CloudEvent_with_a_fixed_id_source_type_time_trace_and_camel_case_data()
    {
        using var rig = new OutboxRig();
        using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
        var id = rig.Outbox.Enqueue("request.completed", new Sample("req-1", 7))!;
        activity.Stop();
        await rig.Outbox.FlushAsync();

        var message = Assert.Single(rig.Outbox.Read(0, 10));
        using var document = JsonDocument.Parse(message.CloudEvent);
        var root = document.RootElement;
        Assert.Equal(id, message.Id);
        Assert.Equal(id, root.GetProperty("id").GetString());
        Assert.True(Guid.TryParse(id, out _));
        Assert.Equal("1.0", root.GetProperty("specversion").GetString());
        Assert.Equal("app-test", root.GetProperty("source").GetString());
        Assert.Equal("request.completed", root.GetProperty("type").GetString());
        Assert.Equal("application/json", root.GetProperty("datacontenttype").GetString());
        Assert.Equal(activity.Id, root.GetProperty("traceparent").GetString());
        Assert.True(DateTimeOffset.UtcNow - root.GetProperty("time").GetDateTimeOffset() < TimeSpan.FromMinutes(5));
        Assert.Equal("req-1", root.GetProperty("data").GetProperty("requestId").GetString());
        Assert.Equal(7, root.GetProperty("data").GetProperty("tokens").GetInt32());
    }

    [Fact]
    public async Task Events_survive_closing_the_file_and_are_drained_with_the_same_ids_after_reopening()
    {
        using var rig = new OutboxRig();
        var ids = Enumerable.Range(0, 12).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();
        rig.Reopen();
        Assert.Equal(12, rig.Outbox.Count);

        using var drain = rig.Drain();
        await drain.StartAsync(Ct);
        await rig.WaitAsync(() => rig.Outbox.Count == 0, "the reopened rows to be drained");
        await drain.StopAsync(Ct);

        Assert.Equal(ids, rig.Sink.SentIds);
        Assert.Equal(0, rig.RowsOnDisk());
    }

    [Fact]
    public async Task A_failing_sidecar_keeps_the_rows_and_the_retry_sends_the_same_ids_after_a_backoff()
    {
        using var rig = new OutboxRig();
        rig.Sink.Throw = call => call <= 3;
        var ids = Enumerable.Range(0, 5).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();
        await rig.Outbox.FlushAsync();

        using var drain = rig.Drain();
        await drain.StartAsync(Ct);
        await rig.WaitAsync(() => rig.Outbox.Count == 0, "the rows to be published after the failures");
        await drain.StopAsync(Ct);

        // Three failed attempts, each with all five events, then one that succeeded: the same five ids every time.
        var calls = rig.Sink.Calls.ToList();
        Assert.Equal(4, calls.Count);
        Assert.All(calls, c => Assert.Equal(ids, c.Messages.Select(m => RecordingSink.Id(m.CloudEvent))));
    }

    [Fact]
    public async Task Events_the_broker_refused_in_a_bulk_publish_stay_and_only_they_are_sent_again()
    {
        using var rig = new OutboxRig();
        // The first call refuses its even events.
        rig.Sink.Refuse = (call, messages) => call == 1 ? messages.Where((_, i) => i % 2 == 0).ToList() : [];
        var ids = Enumerable.Range(0, 6).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();
        await rig.Outbox.FlushAsync();

        using var drain = rig.Drain();
        await drain.StartAsync(Ct);
        await rig.WaitAsync(() => rig.Outbox.Count == 0, "the refused rows to be published again");
        await drain.StopAsync(Ct);

        var calls = rig.Sink.Calls.ToList();
        Assert.Equal(2, calls.Count);
        Assert.Equal(new[] { ids[0], ids[2], ids[4] }, calls[1].Messages.Select(m => RecordingSink.Id(m.CloudEvent)));
    }

    [Fact]
    public async Task Events_within_the_batch_window_go_out_as_one_call_per_topic()
    {
        using var rig = new OutboxRig(new OutboxOptions { BatchDelayMs = 1_000, MaxBatch = 100 });
        using var drain = rig.Drain();
        await drain.StartAsync(Ct);
        for (var i = 0; i < 10; i++)
        {
            rig.Outbox.Enqueue("t.received", new Sample($"req-{i}", i));
            rig.Outbox.Enqueue("t.completed", new Sample($"req-{i}", i));
        }

        await rig.WaitAsync(() => rig.Outbox.Count == 0, "the batch to be published");
        await drain.StopAsync(Ct);

        var calls = rig.Sink.Calls.ToList();
        Assert.Equal(2, calls.Count);
        Assert.Equal(10, Assert.Single(calls, c => c.Topic == "t.received").Messages.Count);
        Assert.Equal(10, Assert.Single(calls, c => c.Topic == "t.completed").Messages.Count);
    }

    [Fact]
    public async Task A_backlog_larger_than_max_batch_is_split_into_calls_of_at_most_max_batch()
    {
        using var rig = new OutboxRig(new OutboxOptions { BatchDelayMs = 0, MaxBatch = 25 });
        for (var i = 0; i < 60; i++)
        {
            rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i));
        }

        await rig.Outbox.FlushAsync();
        using var drain = rig.Drain();
        await drain.StartAsync(Ct);
        await rig.WaitAsync(() => rig.Outbox.Count == 0, "the backlog to be published");
        await drain.StopAsync(Ct);

        Assert.Equal([25, 25, 10], rig.Sink.Calls.Select(c => c.Messages.Count).Order().Reverse());
        Assert.Equal(60, rig.Sink.SentIds.Distinct().Count());
    }

    [Fact]
    public async Task Stopping_with_a_dead_sidecar_leaves_the_events_on_disk_for_the_next_start()
    {
        using var rig = new OutboxRig();
        rig.Sink.Throw = _ => true;
        var ids = Enumerable.Range(0, 4).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();
        await rig.Outbox.FlushAsync();
        using (var drain = rig.Drain())
        {
            await drain.StartAsync(Ct);
            await rig.WaitAsync(() => !rig.Sink.Calls.IsEmpty, "a failed attempt");
            await drain.StopAsync(Ct);
        }

        Assert.Equal(4, rig.RowsOnDisk());
        rig.Reopen();
        rig.Sink.Throw = _ => false;
        rig.Sink.Calls.Clear();
        using (var drain = rig.Drain())
        {
            await drain.StartAsync(Ct);
            await rig.WaitAsync(() => rig.Outbox.Count == 0, "the events to be published after the restart");
            await drain.StopAsync(Ct);
        }

        Assert.Equal(ids, rig.Sink.SentIds);
    }

    [Fact]
    public async Task A_full_outbox_refuses_new_events_when_set_to_reject()
    {
        using var rig = new OutboxRig(new OutboxOptions { MaxRows = 16, WhenFull = OutboxFullMode.Reject });
        for (var i = 0; i < 16; i++)
        {
            Assert.NotNull(rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i)));
        }

        Assert.Null(rig.Outbox.Enqueue("t.one", new Sample("req-over", 0)));
        Assert.Null(await rig.Outbox.EnqueueDurableAsync("t.one", new Sample("req-over-durable", 0)));
        await rig.Outbox.FlushAsync();
        Assert.Equal(16, rig.RowsOnDisk());
    }

    [Fact]
    public async Task A_full_outbox_keeps_new_events_when_set_to_keep()
    {
        using var rig = new OutboxRig(new OutboxOptions { MaxRows = 16, WhenFull = OutboxFullMode.Keep });
        for (var i = 0; i < 20; i++)
        {
            Assert.NotNull(rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i)));
        }

        Assert.NotNull(await rig.Outbox.EnqueueDurableAsync("t.one", new Sample("req-durable", 20)));
        Assert.Equal(21, rig.RowsOnDisk());
    }

    [Fact]
    public void A_second_outbox_on_the_same_file_is_refused_at_open()
    {
        using var rig = new OutboxRig();
        var e = Assert.Throws<InvalidOperationException>(() =>
            new DurableOutbox(rig.Path, "app-test", rig.Options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<DurableOutbox>.Instance));
        Assert.Contains("in use by another process", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_app_and_instance_gets_its_own_file_under_the_configured_folder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "outbox-path-test");
        Assert.Equal(Path.Combine(folder, "gateway-pod-7.outbox.db"), OutboxExtensions.FilePath(new OutboxOptions { Directory = folder, Instance = "pod-7" }, "gateway", "/app"));
        Assert.Equal(Path.Combine(folder, "safety-pod-7.outbox.db"), OutboxExtensions.FilePath(new OutboxOptions { Directory = folder, Instance = "pod-7" }, "safety", "/app"));
    }

    [Fact]
    public async Task Events_stored_after_a_later_batch_was_deleted_before_an_earlier_one_are_read_in_order()
    {
        // Two batches in flight: the second (rows 3-4) is accepted and deleted while the first (rows 1-2) is held. SQLite
        // would number the next rows from max(seq) + 1 = 3 again, below the drain's cursor (4).
        using var rig = new OutboxRig(new OutboxOptions { BatchDelayMs = 0, MaxBatch = 2, Publishers = 2, MinBackoffMs = 10, MaxBackoffMs = 50 });
        var first = Enumerable.Range(0, 4).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();
        await rig.Outbox.FlushAsync();
        var release = new TaskCompletionSource();
        var sink = new GatedSink(async messages =>
        {
            if (RecordingSink.Id(messages[0].CloudEvent) == first[0])
            {
                await release.Task;
            }
        });
        using var drain = new OutboxDrain(rig.Outbox, sink, rig.Options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<OutboxDrain>.Instance);
        await drain.StartAsync(Ct);
        await rig.WaitAsync(() => rig.Outbox.Count == 2, "the second batch to be deleted while the first is held");

        var later = Enumerable.Range(4, 3).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();
        await rig.Outbox.FlushAsync();
        Assert.All(rig.Outbox.Read(0, 10).Where(m => later.Contains(m.Id)), m => Assert.True(m.Seq > 4, $"a new row got sequence {m.Seq}"));
        // Published in their order while the first batch is still held: none skipped behind the cursor.
        await rig.WaitAsync(() => sink.SentIds.Count(later.Contains) == 3, "the later events to be published");
        release.SetResult();
        await rig.WaitAsync(() => rig.Outbox.Count == 0, "the held batch to be deleted");
        await drain.StopAsync(Ct);

        Assert.Equal(later, sink.SentIds.Where(later.Contains));
    }

    /// <summary>A sink that accepts everything once <c>before</c> has finished.</summary>
    private sealed class GatedSink(Func<IReadOnlyList<OutboxMessage>, Task> before) : IOutboxSink
    {
        public GatedSink(Func<Task> before)
            : this(_ => before())
        {
        }

        public List<OutboxMessage> Sent { get; } = [];

        /// <summary>Ids of the events accepted so far, in the order they were accepted.</summary>
        public List<string> SentIds
        {
            get
            {
                lock (Sent)
                {
                    return Sent.Select(m => RecordingSink.Id(m.CloudEvent)).ToList();
                }
            }
        }

        public async Task<IReadOnlyList<OutboxMessage>> PublishAsync(string topic, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
        {
            await before(messages);
            lock (Sent)
            {
                Sent.AddRange(messages);
            }

            return [];
        }
    }
}
