using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using DaprLlm.Contracts.Events;
using DaprLlm.Outbox;
using Microsoft.Extensions.Logging.Abstractions;

/// <summary>
/// Enqueues at a steady rate from one thread (as requests do) and times each call: what a request pays, at p50 and in
/// the tail, for the in-memory channel (baseline), a fire-and-forget enqueue and a durable one (the caller waits for
/// its commit). The caller waits for each send time by yielding (Thread.Sleep(0)), so no CPU figure here.
/// </summary>
internal static class Paced
{
    private static readonly RequestCompletedV1 Sample = new("req-00000000000000000000", "daprllm-demo", "completed", "stop", 42, 128, "allow", "allow", null,
        DateTimeOffset.UtcNow, "tenant-a", "eu", "key-a", "user-1", Cache: "miss", Route: "inference-eu");

    public static async Task RunAsync(int rate, int seconds)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"paced: {rate:N0} events/s for {seconds} s per variant, one caller"));
        var channel = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        var drain = Task.Run(async () =>
        {
            await foreach (var _ in channel.Reader.ReadAllAsync())
            {
            }
        });
        Report("in-memory channel (before the outbox)", Measure(rate, seconds, () => channel.Writer.TryWrite(Sample)));
        channel.Writer.Complete();
        await drain;

        var folder = Path.Combine(Path.GetTempPath(), "daprllm-outbox-paced-" + Guid.NewGuid().ToString("N"));
        using (var outbox = new DurableOutbox(Path.Combine(folder, "bench.outbox.db"), "gateway", new OutboxOptions { MaxRows = 100_000_000 },
            TimeProvider.System, NullLogger<DurableOutbox>.Instance))
        {
            Report("outbox fire-and-forget (gateway audit)", Measure(rate, seconds, () => outbox.Enqueue("request.completed", Sample)));
            await outbox.FlushAsync();
            Report("outbox durable (safety decisions)", Measure(rate, seconds, () => outbox.EnqueueDurableAsync("request.completed", Sample).GetAwaiter().GetResult()));
        }

        Directory.Delete(folder, recursive: true);
    }

    private static List<double> Measure(int rate, int seconds, Action enqueue)
    {
        for (var i = 0; i < 1_000; i++)
        {
            enqueue(); // warm-up: JIT
        }

        var total = rate * seconds;
        var micros = new List<double>(total);
        var interval = Stopwatch.Frequency / (double)rate;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            var due = start + (long)(i * interval);
            while (Stopwatch.GetTimestamp() < due)
            {
                Thread.Sleep(0);
            }

            var before = Stopwatch.GetTimestamp();
            enqueue();
            micros.Add(Stopwatch.GetElapsedTime(before).TotalMicroseconds);
        }

        return micros;
    }

    private static void Report(string name, List<double> micros)
    {
        micros.Sort();
        double P(double p) => micros[Math.Min(micros.Count - 1, (int)(p / 100 * micros.Count))];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-40} call p50 {P(50),8:0.0} us  p99 {P(99),8:0.0} us  p99.9 {P(99.9),8:0.0} us  max {micros[^1],9:0} us"));
    }
}
