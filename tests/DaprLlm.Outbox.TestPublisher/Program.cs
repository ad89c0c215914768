using Dapr.Client;
using DaprLlm.Outbox;
using Microsoft.Extensions.Logging;

// Usage (environment): OUTBOX_PATH (the SQLite file), OUTBOX_COUNT (events to enqueue first), OUTBOX_TOPIC,
// DAPR_GRPC_PORT / DAPR_HTTP_PORT (the sidecar, which may be down). Prints "ENQUEUED <id>" once each event is stored,
// then "READY", then drains until killed.
var path = Environment.GetEnvironmentVariable("OUTBOX_PATH") ?? throw new InvalidOperationException("OUTBOX_PATH is required");
var count = int.Parse(Environment.GetEnvironmentVariable("OUTBOX_COUNT") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
var topic = Environment.GetEnvironmentVariable("OUTBOX_TOPIC") ?? "outbox.test";
using var logs = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
var options = new OutboxOptions { BatchDelayMs = 5, MaxBatch = 50, MinBackoffMs = 100, MaxBackoffMs = 1_000 };
using var dapr = new DaprClientBuilder().Build();
using var outbox = new DurableOutbox(path, "outbox-publisher", options, TimeProvider.System, logs.CreateLogger<DurableOutbox>());
for (var n = 0; n < count; n++)
{
    var id = outbox.Enqueue(topic, new { sequence = n, note = "crash test" }) ?? throw new InvalidOperationException("refused");
    Console.WriteLine($"ENQUEUED {id}");
}

Console.WriteLine("READY");
using var drain = new OutboxDrain(outbox, new DaprOutboxSink(dapr, "pubsub"), options, TimeProvider.System, logs.CreateLogger<OutboxDrain>());
await drain.StartAsync(CancellationToken.None);
await Task.Delay(Timeout.Infinite);
