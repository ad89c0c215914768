using Dapr.Client;
using DaprLlm.Outbox;
using Microsoft.Extensions.Logging;

// Usage (environment): OUTBOX_PATH (the SQLite file), OUTBOX_COUNT (events to enqueue first), OUTBOX_TOPIC,
// OUTBOX_PROTOCOL (Http, the default, or Grpc: the drain's sink), DAPR_GRPC_PORT / DAPR_HTTP_PORT (the sidecar, which may be down). Enqueues durably, 10 at a time (so the writer
// group-commits them), and prints "ENQUEUED <id>" only once an event's transaction committed: every acknowledged id
// must survive the kill -9 that follows. Then "READY", then drains until killed; with OUTBOX_CONTINUE=1 it also goes
// on enqueuing (and acknowledging) more events, 10 every ~5 ms, so the kill lands in the middle of commits.
var path = Environment.GetEnvironmentVariable("OUTBOX_PATH") ?? throw new InvalidOperationException("OUTBOX_PATH is required");
var count = int.Parse(Environment.GetEnvironmentVariable("OUTBOX_COUNT") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
var topic = Environment.GetEnvironmentVariable("OUTBOX_TOPIC") ?? "outbox.test";
var continueEnqueuing = Environment.GetEnvironmentVariable("OUTBOX_CONTINUE") == "1";
using var logs = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
var options = new OutboxOptions { BatchDelayMs = 5, MaxBatch = 50, MinBackoffMs = 100, MaxBackoffMs = 1_000 };
using var dapr = new DaprClientBuilder().Build();
using var outbox = new DurableOutbox(path, "outbox-publisher", options, TimeProvider.System, logs.CreateLogger<DurableOutbox>());
for (var first = 0; first < count; first += 10)
{
    await EnqueueAsync(first, Math.Min(10, count - first));
}

Console.WriteLine("READY");
IOutboxSink sink = Enum.Parse<OutboxSidecarProtocol>(Environment.GetEnvironmentVariable("OUTBOX_PROTOCOL") ?? "Http") == OutboxSidecarProtocol.Grpc
    ? new DaprOutboxSink(dapr, "pubsub")
    : new DaprHttpOutboxSink(DaprHttpOutboxSink.DefaultEndpoint(), "pubsub", DaprHttpOutboxSink.DefaultApiToken());
using var drain = new OutboxDrain(outbox, sink, options, TimeProvider.System, logs.CreateLogger<OutboxDrain>());
await drain.StartAsync(CancellationToken.None);
for (var next = count; continueEnqueuing; next += 10)
{
    await EnqueueAsync(next, 10);
    await Task.Delay(5);
}

await Task.Delay(Timeout.Infinite);

async Task EnqueueAsync(int first, int n)
{
    var ids = await Task.WhenAll(Enumerable.Range(first, n).Select(i => outbox.EnqueueDurableAsync(topic, new { sequence = i, note = "crash test" })));
    foreach (var id in ids)
    {
        Console.WriteLine($"ENQUEUED {id ?? throw new InvalidOperationException("refused")}");
    }
}
