using System.Diagnostics;
using System.Globalization;
using DaprLlm.Audit.Trail;

namespace DaprLlm.Bench.Audit;

/// <summary>
/// Verify throughput alone: builds one chain of <c>records</c> (as the ingest bench does), then walks it
/// <c>walks</c> times, each walk split into what verify does: read every row (store.ReadAsync only), recompute every
/// hash on rows already in memory (ChainHash.Compute only), and the full <see cref="ChainVerifier"/> walk. Only public
/// trail APIs are used, so the same driver measures an older build of the trail code. Records per CPU-second (the
/// process's CPU time, all threads) is printed beside the wall-clock rate: on a shared machine it moves far less.
/// </summary>
public static class VerifyBench
{
    public static async Task RunAsync(string name, IAuditStore store, CheckpointSigner signer, int records, int walks)
    {
        await using var _ = store;
        await PopulateAsync(store, signer, records);
        var inMemory = new List<AuditRecord>(records);
        await foreach (var record in store.ReadAsync(1, long.MaxValue, CancellationToken.None))
        {
            inMemory.Add(record);
        }

        var verifier = new ChainVerifier(signer);
        await verifier.VerifyAsync(store, null, CancellationToken.None); // warm-up: JIT, page cache

        var read = new List<double>();
        var hash = new List<double>();
        var full = new List<double>();
        var fullCpu = new List<double>();
        for (var walk = 1; walk <= walks; walk++)
        {
            var stopwatch = Stopwatch.StartNew();
            long rows = 0;
            await foreach (var __ in store.ReadAsync(1, long.MaxValue, CancellationToken.None))
            {
                rows++;
            }

            read.Add(rows / stopwatch.Elapsed.TotalSeconds);

            stopwatch.Restart();
            var mismatches = 0;
            foreach (var record in inMemory)
            {
                if (ChainHash.Compute(record.PrevHash, record.Entry, record.RecordedAtMs) != record.Hash)
                {
                    mismatches++;
                }
            }

            hash.Add(inMemory.Count / stopwatch.Elapsed.TotalSeconds);
            if (mismatches != 0)
            {
                throw new InvalidOperationException($"{mismatches} records do not match their hash");
            }

            stopwatch.Restart();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var report = await verifier.VerifyAsync(store, null, CancellationToken.None);
            full.Add(report.RecordsChecked / stopwatch.Elapsed.TotalSeconds);
            fullCpu.Add(report.RecordsChecked / (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
            if (!report.Ok || report.RecordsChecked != records)
            {
                throw new InvalidOperationException($"verify failed: {report.FirstProblem?.Detail}, {report.RecordsChecked} records");
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name} walk {walk}: read {read[^1]:N0} rows/s, hash {hash[^1]:N0} records/s, verify {full[^1]:N0} records/s, {fullCpu[^1]:N0} records per CPU-second ({Load()})"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name} median of {walks}: read {Median(read):N0} rows/s, hash {Median(hash):N0} records/s, verify {Median(full):N0} records/s [{full.Min():N0}–{full.Max():N0}], {Median(fullCpu):N0} per CPU-second [{fullCpu.Min():N0}–{fullCpu.Max():N0}]"));
    }

    private static async Task PopulateAsync(IAuditStore store, CheckpointSigner signer, int records)
    {
        var writer = new ChainWriter(store, signer, TimeProvider.System, maxBatch: 1000, checkpointEvery: 10_000);
        await writer.StartAsync(CancellationToken.None);
        var content = """{"completion":"Sure. Here is a short answer to your question.","completionTokens":12,"model":"daprllm-demo","outcome":"completed","prompt":"Explain <EMAIL_ADDRESS> masking","promptTokens":9,"requestId":"r","userId":"psn_0123456789abcdef0123456789abcdef"}""";
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 2000).Select(async _ =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < records)
            {
                await writer.AppendAsync(new AuditEntry($"evt-{n}", "request.completed", "gateway", "tenant-" + (n % 10).ToString(CultureInfo.InvariantCulture), "eu",
                    "psn_0123456789abcdef0123456789abcdef", 1_700_000_000_000 + n, content, null, $"req-{n}"), CancellationToken.None);
            }
        }));
        await writer.CheckpointNowAsync(CancellationToken.None);
        await writer.DisposeAsync();
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Load() => File.Exists("/proc/loadavg") ? "load " + File.ReadAllText("/proc/loadavg").Split(' ')[0] : "load ?";
}
