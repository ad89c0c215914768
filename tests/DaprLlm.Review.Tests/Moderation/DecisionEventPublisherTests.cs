using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Outbox;
using DaprLlm.Safety.Moderation;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Review.Tests.Moderation;

/// <summary>
/// The decision-event publisher never fails a check: it stores the event in the safety app's durable outbox (a real
/// SQLite file) and completes once it is committed; an event the outbox cannot take is counted. Publishing is the outbox's (tests/DaprLlm.Outbox.Tests).
/// </summary>
public sealed class DecisionEventPublisherTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "daprllm-decisions-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_decision_is_committed_on_moderation_decided_before_the_call_completes_without_waiting_for_a_sidecar()
    {
        using var outbox = Open(new OutboxOptions());
        using var telemetry = new SafetyTelemetry();
        var publisher = new DecisionEventPublisher(outbox, telemetry);

        Assert.True(await publisher.TryEnqueueAsync(Event("req-stored")));

        var stored = Assert.Single(outbox.Read(0, 10));
        Assert.Equal(Topics.ModerationDecided, stored.Topic);
        Assert.Contains("req-stored", System.Text.Encoding.UTF8.GetString(stored.CloudEvent), StringComparison.Ordinal);
        Assert.Equal(0, publisher.Dropped);
    }

    [Fact]
    public async Task With_keep_a_full_outbox_still_stores_every_decision()
    {
        using var outbox = Open(new OutboxOptions { MaxRows = 16, WhenFull = OutboxFullMode.Keep });
        using var telemetry = new SafetyTelemetry();
        var publisher = new DecisionEventPublisher(outbox, telemetry);

        for (var i = 0; i < 20; i++)
        {
            Assert.True(await publisher.TryEnqueueAsync(Event($"req-{i}")));
        }

        Assert.Equal(20, outbox.Count);
        Assert.Equal(20, outbox.Read(0, 100).Count);
        Assert.Equal(0, publisher.Dropped);
    }

    [Fact]
    public async Task An_event_the_outbox_refuses_is_counted_as_dropped_not_thrown()
    {
        using var outbox = Open(new OutboxOptions { MaxRows = 16, WhenFull = OutboxFullMode.Reject });
        using var telemetry = new SafetyTelemetry();
        var publisher = new DecisionEventPublisher(outbox, telemetry);
        for (var i = 0; i < 16; i++)
        {
            Assert.True(await publisher.TryEnqueueAsync(Event($"req-{i}")));
        }

        Assert.False(await publisher.TryEnqueueAsync(Event("req-over")));
        Assert.Equal(1, publisher.Dropped);
    }

    private DurableOutbox Open(OutboxOptions options) =>
        new(Path.Combine(_folder, "safety-test.outbox.db"), AppIds.Safety, options, TimeProvider.System, NullLogger<DurableOutbox>.Instance);

    private static ModerationDecidedV1 Event(string requestId) =>
        new(requestId, "acme", null, "input", "allow", null, new Dictionary<string, double>(), [], [], "default-v1", 1.5, null, false, DateTimeOffset.UnixEpoch);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
