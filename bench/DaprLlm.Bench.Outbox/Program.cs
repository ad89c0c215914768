using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using DaprLlm.Contracts.Events;
using DaprLlm.Outbox;
using Microsoft.Extensions.Logging.Abstractions;

// Usage: DaprLlm.Bench.Outbox [events per variant, default 100000] [threads, default 1]
// Enqueues gateway-sized events (request.completed) with no drain running, so only the enqueue side is measured:
// the old in-memory channel write (baseline), then the outbox (group commit) fire-and-forget and durable, with
// synchronous=NORMAL (default) and FULL. "caller" is the time on the enqueuing thread per event; "CPU" is the whole
// process's CPU per event (the writer included) until everything is committed; events/commit is the batching.
// Paced: DaprLlm.Bench.Outbox --paced [events/s, default 2000] [seconds, default 5]: one thread enqueues at the gateway's
// rate (2 events per request at 1,000 req/s) and each call is timed: p50/p99/p99.9 of the time a request spends in it.
if (args.Length > 0 && args[0] == "--paced")
{
    var rate = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2_000;
    var secondsPaced = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
    await Paced.RunAsync(rate, secondsPaced);
    return;
}

var events = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
var threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
var sample = new RequestCompletedV1("req-00000000000000000000", "daprllm-demo", "completed", "stop", 42, 128, "allow", "allow", null,
    DateTimeOffset.UtcNow, "tenant-a", "eu", "key-a", "user-1", Cache: "miss", Route: "inference-eu");
Console.WriteLine($"{"variant",-44} {"caller",12} {"CPU",12} {"events/s",12} {"events/commit",14}");

var channel = Channel.CreateBounded<object>(new BoundedChannelOptions(events * 2) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
var (callerTime, cpu) = Run(() => channel.Writer.TryWrite(sample), events);
Report("in-memory channel (before the outbox)", callerTime, cpu, events, null);

foreach (var durability in new[] { OutboxDurability.Normal, OutboxDurability.Full })
{
    var n = durability == OutboxDurability.Full ? Math.Min(events, 5_000) : events;
    var name = durability.ToString().ToUpperInvariant();
    await WithOutboxAsync(durability, n, outbox =>
    {
        var (caller, total, commits) = RunOutbox(outbox, () => outbox.Enqueue("request.completed", sample), n);
        Report($"outbox fire-and-forget, {name}", caller, total, n, commits);
        return Task.CompletedTask;
    });
    await WithOutboxAsync(durability, n, async outbox =>
    {
        // One caller awaiting each event: the latency of a durable enqueue (a commit per event).
        var commits = outbox.Commits;
        var stopwatch = Stopwatch.StartNew();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < n; i++)
        {
            await outbox.EnqueueDurableAsync("request.completed", sample);
        }

        Report($"outbox durable, {name}, 1 caller", stopwatch.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpuStart, n, outbox.Commits - commits);
    });
    await WithOutboxAsync(durability, n, async outbox =>
    {
        // 64 concurrent callers (as concurrent moderation checks): they share commits.
        var commits = outbox.Commits;
        var stopwatch = Stopwatch.StartNew();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(async c =>
        {
            for (var i = c; i < n; i += 64)
            {
                await outbox.EnqueueDurableAsync("request.completed", sample);
            }
        }));
        Report($"outbox durable, {name}, 64 callers", stopwatch.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpuStart, n, outbox.Commits - commits);
    });
}

async Task WithOutboxAsync(OutboxDurability durability, int n, Func<DurableOutbox, Task> run)
{
    var folder = Path.Combine(Path.GetTempPath(), "daprllm-outbox-bench-" + Guid.NewGuid().ToString("N"));
    // A hand-off as large as the run: a tight loop enqueues faster than any disk commits, and refusals would hide the cost.
    var options = new OutboxOptions { Durability = durability, MaxRows = 100_000_000, HandoffCapacity = Math.Max(16, n * 2) };
    using (var outbox = new DurableOutbox(Path.Combine(folder, "bench.outbox.db"), "gateway", options, TimeProvider.System, NullLogger<DurableOutbox>.Instance))
    {
        for (var i = 0; i < 200; i++)
        {
            await outbox.EnqueueDurableAsync("request.completed", sample); // warm-up: JIT, SQLite page cache
        }

        await run(outbox);
    }

    Directory.Delete(folder, recursive: true);
}

(TimeSpan Caller, TimeSpan Cpu, long Commits) RunOutbox(DurableOutbox outbox, Action enqueue, int total)
{
    Warm(enqueue, total);
    outbox.FlushAsync().GetAwaiter().GetResult();
    var commits = outbox.Commits;
    var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
    var caller = Time(enqueue, total);
    outbox.FlushAsync().GetAwaiter().GetResult(); // the writer's work counts in the CPU figure, not in the caller's
    return (caller, Process.GetCurrentProcess().TotalProcessorTime - cpuStart, outbox.Commits - commits);
}

(TimeSpan Caller, TimeSpan Cpu) Run(Action enqueue, int total)
{
    Warm(enqueue, total);
    var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
    var caller = Time(enqueue, total);
    return (caller, Process.GetCurrentProcess().TotalProcessorTime - cpuStart);
}

void Warm(Action enqueue, int total)
{
    for (var i = 0; i < Math.Min(1_000, total); i++)
    {
        enqueue(); // warm-up: JIT
    }
}

TimeSpan Time(Action enqueue, int total)
{
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

void Report(string name, TimeSpan caller, TimeSpan cpu, int n, long? commits)
{
    var perCommit = commits is { } c ? ((double)n / Math.Max(1, c)).ToString("0.0", CultureInfo.InvariantCulture) : "";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-44} {caller.TotalMilliseconds * 1_000 / n,9:0.00} us {cpu.TotalMilliseconds * 1_000 / n,9:0.00} us {n / caller.TotalSeconds,12:N0} {perCommit,14}"));
}
