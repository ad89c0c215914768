using System.Collections.Concurrent;
using System.Diagnostics;
using StackExchange.Redis;

namespace DaprLlm.Bench.PubSub;

/// <summary>The baseline: the same stream work the sidecar does (XADD, XREADGROUP, one XACK per entry) with no HTTP hops.</summary>
public static class RawStreamsBench
{
    public static async Task<BenchResult> RunAsync(string address, int messages, int concurrency)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(address);
        var db = connection.GetDatabase();
        const string stream = "raw-bench";
        const string group = "raw-group";
        await db.StreamCreateConsumerGroupAsync(stream, group, StreamPosition.Beginning, createStream: true);
        var latencies = new ConcurrentBag<long>();
        var acked = 0;
        using var done = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        var consumer = Task.Run(async () =>
        {
            while (Volatile.Read(ref acked) < messages && !done.IsCancellationRequested)
            {
                var entries = await db.StreamReadGroupAsync(stream, group, "c", StreamPosition.NewMessages, 100);
                if (entries.Length == 0)
                {
                    await Task.Delay(1);
                    continue;
                }

                await Task.WhenAll(entries.Select(async e =>
                {
                    var sent = (long)e.Values[0].Value;
                    await db.StreamAcknowledgeAsync(stream, group, e.Id);
                    latencies.Add(Stopwatch.GetTimestamp() - sent);
                    Interlocked.Increment(ref acked);
                }));
            }
        });

        var start = Stopwatch.GetTimestamp();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < messages)
            {
                await db.StreamAddAsync(stream, "t", Stopwatch.GetTimestamp());
            }
        })));
        await consumer;
        return BenchResult.From(messages, Stopwatch.GetElapsedTime(start), latencies);
    }
}
