using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using DaprLlm.Contracts.Events;
using DaprLlm.Outbox;
using Microsoft.Extensions.Logging.Abstractions;

// Usage: DaprLlm.Bench.Outbox [events per variant, default 100000] [threads, default 1]
// Enqueues gateway-sized events (request.completed) with no drain running, so only the caller's cost is measured:
// the old in-memory channel write (baseline), then the outbox with synchronous=NORMAL (default) and FULL.
var events = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
var threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
var sample = new RequestCompletedV1("req-00000000000000000000", "daprllm-demo", "completed", "stop", 42, 128, "allow", "allow", null,
    DateTimeOffset.UtcNow, "tenant-a", "eu", "key-a", "user-1", Cache: "miss", Route: "inference-eu");

var channel = Channel.CreateBounded<object>(new BoundedChannelOptions(events * 2) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
Report("in-memory channel (before)", Run(() => channel.Writer.TryWrite(sample)));
foreach (var durability in new[] { OutboxDurability.Normal, OutboxDurability.Full })
{
    var folder = Path.Combine(Path.GetTempPath(), "daprllm-outbox-bench-" + Guid.NewGuid().ToString("N"));
    var count = durability == OutboxDurability.Full ? Math.Min(events, 5_000) : events;
    using (var outbox = new DurableOutbox(Path.Combine(folder, "bench.outbox.db"), "gateway", new OutboxOptions { Durability = durability, MaxRows = 100_000_000 },
        TimeProvider.System, NullLogger<DurableOutbox>.Instance))
    {
        Report($"outbox, synchronous={durability.ToString().ToUpperInvariant()}", Run(() => outbox.Enqueue("request.completed", sample), count), count);
        var checkpoint = Stopwatch.StartNew();
        outbox.Checkpoint(); // what the drain does off the request path
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  checkpoint of the WAL afterwards (drain thread): {checkpoint.Elapsed.TotalMilliseconds:0} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  file: {new FileInfo(outbox.Path).Length + new FileInfo(outbox.Path + "-wal").Length:N0} bytes for {outbox.Count:N0} rows"));
    }

    Directory.Delete(folder, recursive: true);
}

TimeSpan Run(Action enqueue, int? n = null)
{
    var total = n ?? events;
    for (var i = 0; i < Math.Min(1_000, total); i++)
    {
        enqueue(); // warm-up: JIT, SQLite page cache
    }

    var perThread = total / threads;
    var stopwatch = Stopwatch.StartNew();
    Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
    {
        for (var i = 0; i < perThread; i++)
        {
            enqueue();
        }
    });
    return stopwatch.Elapsed;
}

void Report(string name, TimeSpan elapsed, int? n = null) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-32} {elapsed.TotalMilliseconds * 1_000 / (n ?? events):0.00} us/event ({(n ?? events) / elapsed.TotalSeconds:N0} events/s, {threads} thread(s), {(n ?? events):N0} events)"));
