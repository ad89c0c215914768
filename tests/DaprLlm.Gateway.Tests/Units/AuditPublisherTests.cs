using System.Text.Json;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Audit;
using DaprLlm.Outbox;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>
/// What the audit publisher stores in the gateway's durable outbox (a real SQLite file): one CloudEvent per event on
/// its topic. Batching, retries and restarts are the outbox's (tests/DaprLlm.Outbox.Tests).
/// </summary>
public sealed class AuditPublisherTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "daprllm-audit-publisher-" + Guid.NewGuid().ToString("N"));
    private readonly DurableOutbox _outbox;

    public AuditPublisherTests() =>
        _outbox = new DurableOutbox(Path.Combine(_folder, "gateway-test.outbox.db"), AppIds.Gateway, new OutboxOptions(), TimeProvider.System, NullLogger<DurableOutbox>.Instance);

    [Fact]
    public async Task Each_event_is_stored_on_its_topic_with_every_field()
    {
        var publisher = new AuditPublisher(_outbox, Options.Create(new AuditOptions()));
        publisher.Enqueue(Received("req-1"));
        publisher.Enqueue(Completed("req-1"));
        publisher.Enqueue(new AdminActionV1("key.created", "gateway", "tenant-a", "key-a", DateTimeOffset.UnixEpoch));
        await _outbox.FlushAsync();

        var stored = _outbox.Read(0, 10);
        Assert.Equal([Topics.RequestReceived, Topics.RequestCompleted, Topics.AdminAction], stored.Select(m => m.Topic));
        Assert.Equal(3, publisher.Backlog);
        using var completed = JsonDocument.Parse(stored[1].CloudEvent);
        var data = completed.RootElement.GetProperty("data");
        Assert.Equal("req-1", data.GetProperty("requestId").GetString());
        Assert.Equal("tenant-a", data.GetProperty("tenantId").GetString());
        Assert.Equal(4, data.GetProperty("completionTokens").GetInt32());
        Assert.Equal(stored[1].Id, completed.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_disabled_publisher_stores_nothing()
    {
        var publisher = new AuditPublisher(_outbox, Options.Create(new AuditOptions { Enabled = false }));
        publisher.Enqueue(Completed("req-off"));
        await _outbox.FlushAsync();
        Assert.Equal(0, publisher.Backlog);
        Assert.Empty(_outbox.Read(0, 10));
    }

    private static RequestReceivedV1 Received(string id) =>
        new(id, "tenant-a", "key-a", null, "daprllm-demo", "daprllm-demo", "eu", "miss", false, "v1", DateTimeOffset.UnixEpoch, null);

    private static RequestCompletedV1 Completed(string id) =>
        new(id, "daprllm-demo", "completed", "stop", 3, 4, "allow", "allow", null, DateTimeOffset.UnixEpoch, "tenant-a", "eu", "key-a");

    public void Dispose()
    {
        _outbox.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
