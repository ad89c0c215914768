using System.Collections.Concurrent;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Audit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>How the audit publisher groups events into sidecar calls (what each call carries, not how fast).</summary>
public sealed class AuditPublisherTests
{
    [Fact]
    public async Task Events_enqueued_within_the_batch_window_go_out_as_one_call_per_topic()
    {
        var ct = TestContext.Current.CancellationToken;
        var sink = new RecordingSink();

        // A long window, so the test does not depend on how fast it enqueues.
        var publisher = new AuditPublisher(sink, Options.Create(new AuditOptions { BatchDelayMs = 1_000, MaxBatch = 100 }), NullLogger<AuditPublisher>.Instance);
        await publisher.StartAsync(ct);
        try
        {
            for (var i = 0; i < 10; i++)
            {
                publisher.Enqueue(Received($"req-{i}"));
                publisher.Enqueue(Completed($"req-{i}"));
            }

            var calls = await sink.WaitForEventsAsync(20, ct);
            Assert.Equal(2, calls.Count);
            Assert.Equal(10, Assert.Single(calls, c => c.Topic == Topics.RequestReceived).Events.Count);
            var completed = Assert.Single(calls, c => c.Topic == Topics.RequestCompleted).Events;
            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"req-{i}"), completed.Cast<RequestCompletedV1>().Select(e => e.RequestId));
        }
        finally
        {
            await publisher.StopAsync(ct);
        }
    }

    [Fact]
    public async Task A_backlog_larger_than_max_batch_is_split_into_calls_of_at_most_max_batch()
    {
        var ct = TestContext.Current.CancellationToken;
        var sink = new RecordingSink();
        var publisher = new AuditPublisher(sink, Options.Create(new AuditOptions { BatchDelayMs = 0, MaxBatch = 25 }), NullLogger<AuditPublisher>.Instance);
        for (var i = 0; i < 60; i++)
        {
            publisher.Enqueue(Completed($"req-{i}"));
        }

        await publisher.StartAsync(ct);
        try
        {
            var calls = await sink.WaitForEventsAsync(60, ct);
            Assert.Equal([25, 25, 10], calls.Select(c => c.Events.Count).Order().Reverse());
            Assert.Equal(60, calls.SelectMany(c => c.Events).Cast<RequestCompletedV1>().Select(e => e.RequestId).Distinct().Count());
            Assert.Equal(0, publisher.Backlog);
        }
        finally
        {
            await publisher.StopAsync(ct);
        }
    }

    [Fact]
    public async Task Stopping_sends_the_events_accepted_before_it_without_waiting_for_the_batch_window()
    {
        var ct = TestContext.Current.CancellationToken;
        var sink = new RecordingSink();
        var publisher = new AuditPublisher(sink, Options.Create(new AuditOptions { BatchDelayMs = 1_000, MaxBatch = 100 }), NullLogger<AuditPublisher>.Instance);
        await publisher.StartAsync(ct);
        for (var i = 0; i < 5; i++)
        {
            publisher.Enqueue(Completed($"req-stop-{i}"));
        }

        await publisher.StopAsync(ct);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"req-stop-{i}"),
            sink.Calls.SelectMany(c => c.Events).Cast<RequestCompletedV1>().Select(e => e.RequestId));
        Assert.Equal(0, publisher.Backlog);
    }

    [Fact]
    public async Task A_disabled_publisher_sends_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var sink = new RecordingSink();
        var publisher = new AuditPublisher(sink, Options.Create(new AuditOptions { Enabled = false, BatchDelayMs = 0 }), NullLogger<AuditPublisher>.Instance);
        publisher.Enqueue(Completed("req-off"));
        Assert.Equal(0, publisher.Backlog);
        await publisher.StartAsync(ct);
        await publisher.StopAsync(ct);
        Assert.Empty(sink.Calls);
    }

    private static RequestReceivedV1 Received(string id) =>
        new(id, "tenant-a", "key-a", null, "daprllm-demo", "daprllm-demo", "eu", "miss", false, "v1", DateTimeOffset.UnixEpoch, null);

    private static RequestCompletedV1 Completed(string id) =>
        new(id, "daprllm-demo", "completed", "stop", 3, 4, "allow", "allow", null, DateTimeOffset.UnixEpoch, "tenant-a", "eu", "key-a");

    private sealed class RecordingSink : IAuditSink
    {
        public ConcurrentQueue<(string Topic, IReadOnlyList<object> Events)> Calls { get; } = new();

        public Task<IReadOnlyList<(object Event, string Error)>> PublishAsync(string topic, IReadOnlyList<object> events, CancellationToken ct)
        {
            Calls.Enqueue((topic, events.ToList()));
            return Task.FromResult<IReadOnlyList<(object Event, string Error)>>([]);
        }

        public async Task<List<(string Topic, IReadOnlyList<object> Events)>> WaitForEventsAsync(int count, CancellationToken ct)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Calls.Sum(c => c.Events.Count) < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"only {Calls.Sum(c => c.Events.Count)} of {count} events were published");
                await Task.Delay(20, ct);
            }

            return [.. Calls];
        }
    }
}
