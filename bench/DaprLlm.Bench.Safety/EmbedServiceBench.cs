using System.Diagnostics;
using System.Globalization;
using DaprLlm.Safety.Classification.Models;

/// <summary>
/// The ML layer with its MiniLM vectors computed in process (shipped default) against the same layer with the vectors
/// from the inference app's minilm-l6-safety model through two real sidecars (caller's, inference's), as the safety
/// app's Moderation:Embeddings:Source=InferenceService does. First checks that both give the same scores, then
/// alternates in-process / service twice at 1 and 8 callers. "path CPU" is the CPU time of every process on the path
/// (this bench, the sidecars, the inference app; pids from embed-service.sh) per request, which the shared machine's
/// other load does not inflate the way it inflates wall time.
/// </summary>
internal static class EmbedServiceBench
{
    public static async Task RunAsync(string sidecar, IReadOnlyList<int> pathPids, List<string> prompts, List<string> longInputs, int seconds)
    {
        var manifest = Path.Combine(AppContext.BaseDirectory, "models", "safety", "safety-model.json");
        using var local = LinearSafetyModel.Load(manifest);
        using var remote = LinearSafetyModel.Load(manifest, embedInProcess: false);
        using var source = new ServiceEmbeddingSource(
            new HttpClient { BaseAddress = new Uri(new Uri(sidecar), "v1.0/invoke/inference/method/"), Timeout = Timeout.InfiniteTimeSpan },
            DaprLlm.Contracts.Inference.EmbeddingModels.SafetyMiniLm, TimeSpan.FromSeconds(30));

        // Same scores? Every long input and 200 prompts, compared score by score.
        var (equal, total, maxDiff) = (0, 0, 0.0);
        foreach (var text in longInputs.Concat(prompts.Take(200)))
        {
            var expected = local.Score(text);
            var actual = remote.ScoreWithEmbeddings(text, await source.EmbedManyAsync(remote.EmbeddingInputs(text), CancellationToken.None));
            foreach (var (category, score) in expected)
            {
                total++;
                equal += actual[category] == score ? 1 : 0;
                maxDiff = Math.Max(maxDiff, Math.Abs(actual[category] - score));
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scores equal (bitwise) in process vs service: {equal}/{total}, max |difference| {maxDiff:G3}"));

        // The hop alone: the same two sidecars to the inference app's liveness endpoint (no model, no JSON), to attribute the difference.
        using var hop = new HttpClient { BaseAddress = new Uri(new Uri(sidecar), "v1.0/invoke/inference/method/"), Timeout = Timeout.InfiniteTimeSpan };
        var subjects = new (string Name, Func<string, ValueTask> Check)[]
        {
            ("ML layer, in process", t => { local.Score(t); return ValueTask.CompletedTask; }),
            ("ML layer, inference service", async t => remote.ScoreWithEmbeddings(t, await source.EmbedManyAsync(remote.EmbeddingInputs(t), CancellationToken.None))),
            ("hop only: invoke inference /alive", async _ => (await hop.GetAsync("alive")).Dispose()),
        };
        foreach (var callers in new[] { 1, 8 })
        {
            for (var round = 1; round <= 2; round++)
            {
                foreach (var (name, check) in subjects)
                {
                    await MeasureAsync($"{name} (round {round})", callers, seconds, longInputs, check, pathPids);
                }
            }
        }
    }

    private static async Task MeasureAsync(string name, int callers, int seconds, List<string> inputs, Func<string, ValueTask> check, IReadOnlyList<int> pathPids)
    {
        foreach (var text in inputs.Take(10))
        {
            await check(text);
        }

        // Every caller on a thread of its own from the start: the in-process check blocks its thread, and a pool that
        // grows one thread at a time would run fewer callers at once than asked (less queueing for that subject only).
        ThreadPool.GetMinThreads(out var workerThreads, out var ioThreads);
        ThreadPool.SetMinThreads(Math.Max(workerThreads, callers + 4), ioThreads);
        var latencies = new List<double>();
        var cpuBefore = PathCpuMilliseconds(pathPids);
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var until = DateTime.UtcNow.AddSeconds(seconds);
        var workers = Enumerable.Range(0, callers).Select(w => Task.Run(async () =>
        {
            var local = new List<double>();
            var i = w;
            while (DateTime.UtcNow < until)
            {
                var start = Stopwatch.GetTimestamp();
                await check(inputs[i++ % inputs.Count]);
                local.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            lock (latencies)
            {
                latencies.AddRange(local);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var cpuPerRequest = (PathCpuMilliseconds(pathPids) - cpuBefore) / Math.Max(1, latencies.Count);
        latencies.Sort();
        double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-42} {callers} callers: {latencies.Count / (double)seconds,6:F1} req/s  wall p50 {P(0.5),6:F2} p95 {P(0.95),6:F2} p99 {P(0.99),6:F2} ms  path CPU {cpuPerRequest,5:F2} ms/req  load {load}"));
    }

    // utime + stime of this process and the given ones, from /proc (clock ticks of 10 ms).
    private static double PathCpuMilliseconds(IReadOnlyList<int> pids)
    {
        var total = 0.0;
        foreach (var pid in pids.Prepend(Environment.ProcessId))
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            total += (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
        }

        return total;
    }
}
