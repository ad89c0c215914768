using System.Diagnostics;
using DaprLlm.Contracts.Inference;
using DaprLlm.Embeddings;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tests.Reference;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

// Usage: DaprLlm.Bench.Inference [modelFolder] [tokensPerStream] [CPU|CUDA] [sections]
// sections: any of batching,ttft,efficiency,embeddings,memory (comma-separated; default all).
// Every stream samples with its own seed, so one-at-a-time and batched runs generate the same tokens (batching
// does not change a request's output) and tokens/s compare like for like.
var folder = args.Length > 0 && args[0] != "-" ? args[0] : Path.Combine(AppContext.BaseDirectory, "models", "daprllm-kjv-small");
var tokens = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64;
string[] providers = args.Length > 2 ? [args[2], "CPU"] : ["CPU"];
var sections = (args.Length > 3 ? args[3] : "batching,ttft,efficiency,embeddings,memory").Split(',');
const int Rounds = 3;
// ONNX Runtime intra-op threads per session (the service's Inference:IntraOpThreads): unset = the service's automatic
// rule, 0 = ONNX Runtime decides, n = n threads.
var configuredThreads = Environment.GetEnvironmentVariable("DAPRLLM_BENCH_INTRA_OP_THREADS") is { Length: > 0 } t
    ? int.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : (int?)null;
var (intraOpThreads, intraOpReason) = IntraOpThreadPolicy.Resolve(configuredThreads, Environment.ProcessorCount);
// The service's Inference:SplitStepRows: unset = the service's automatic rule, 0 = never split a step into two halves, n = from n rows.
var configuredSplit = Environment.GetEnvironmentVariable("DAPRLLM_BENCH_SPLIT_STEP_ROWS") is { Length: > 0 } sp
    ? int.Parse(sp, System.Globalization.CultureInfo.InvariantCulture) : (int?)null;
var (splitStepRows, _) = SplitStepPolicy.Resolve(configuredSplit, Environment.ProcessorCount, intraOpThreads);
// Experiment: DAPRLLM_BENCH_ORT_SPINNING=0 stops ORT's intra-op pool threads from spin-waiting between operators.
var allowSpinning = Environment.GetEnvironmentVariable("DAPRLLM_BENCH_ORT_SPINNING") != "0";
// Minimum interleaved rounds per batching cell (more for small stream counts); medians of per-round ratios need several.
var minRounds = int.Parse(Environment.GetEnvironmentVariable("DAPRLLM_BENCH_ROUNDS") ?? "3", System.Globalization.CultureInfo.InvariantCulture);

var config = GenAiConfig.Load(folder);
var tokenizer = ModelTokenizer.Load(folder);
var template = ChatTemplate.For(tokenizer);
var metrics = new InferenceMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
string[] verses =
[
    "In the beginning God created the heaven and the earth.", "The LORD is my shepherd; I shall not want.",
    "Blessed are the meek: for they shall inherit the earth.", "And it came to pass in those days.",
    "Hear, O Israel: The LORD our God is one LORD.", "My son, forget not my law.", "Praise ye the LORD.",
    "The heavens declare the glory of God.",
];
List<int> Prompt(int i) => template.Render([new ChatMessage("user", verses[i % verses.Length])]);
// EOS is ignored by asking for no end ids, so every stream produces exactly `tokens` tokens.
// DAPRLLM_BENCH_TOP_P / DAPRLLM_BENCH_TOP_K (default 1.0 / 0: plain temperature sampling, as in every figure before session 8).
var topP = double.Parse(Environment.GetEnvironmentVariable("DAPRLLM_BENCH_TOP_P") ?? "1.0", System.Globalization.CultureInfo.InvariantCulture);
var topK = int.Parse(Environment.GetEnvironmentVariable("DAPRLLM_BENCH_TOP_K") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
SamplingParameters Params(int i, int? maxTokens = null) => new(maxTokens ?? tokens, 0.8, topP, topK, 1000 + i, []);
// The service's Inference:StreamIntervalMilliseconds (default 10): how long streamed tokens may be held between reader wake-ups.
var streamInterval = TimeSpan.FromMilliseconds(int.Parse(Environment.GetEnvironmentVariable("DAPRLLM_BENCH_STREAM_INTERVAL_MS") ?? "10",
    System.Globalization.CultureInfo.InvariantCulture));
string Load() => File.ReadAllText("/proc/loadavg").Trim();

string provider = "CPU";
OnnxDecoder NewDecoder()
{
    var (decoder, p) = OnnxDecoder.Open(folder, config, providers, intraOpThreads, NullLogger.Instance, allowSpinning);
    decoder.SplitStepRows = splitStepRows;
    provider = p;
    return decoder;
}

BatchScheduler NewScheduler(int maxBatch) =>
    new("bench", provider, NewDecoder(), tokenizer, [], config.ContextLength, maxBatch, 1024, metrics, NullLogger.Instance, streamInterval);

// CPU time of the whole process (every thread: ORT's, the scheduler's, the readers'): on a shared, oversubscribed
// machine, tokens per CPU-second show what a mode costs even when wall-clock figures are disturbed by other jobs.
static TimeSpan Cpu() => Process.GetCurrentProcess().TotalProcessorTime;

async Task<(double TokensPerSecond, double[] Ttft, long Tokens, double TokensPerCpuSecond)> RunAsync(BatchScheduler scheduler, int streams,
    int? maxTokens = null, bool together = false, bool collect = false)
{
    var cpu = Cpu();
    var started = Stopwatch.GetTimestamp();
    var jobs = Enumerable.Range(0, streams).Select(i => new GenerationJob(Prompt(i), Params(i, maxTokens), CancellationToken.None, streamTokens: !collect))
        .ToList();
    if (together ? !scheduler.TryEnqueueAll(jobs) : !jobs.All(scheduler.TryEnqueue))
    {
        throw new InvalidOperationException("queue full");
    }

    var ttft = new double[streams];
    long total = 0;
    await Task.WhenAll(jobs.Select(async (job, i) =>
    {
        await foreach (var e in job.Events.ReadAllAsync())
        {
            if (e is GenerationEvent.End end)
            {
                Interlocked.Add(ref total, end.CompletionTokens);
            }
        }

        ttft[i] = Stopwatch.GetElapsedTime(job.EnqueuedAt, job.FirstTokenAt!.Value).TotalMilliseconds;
    }));
    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
    return (total / seconds, ttft, total, total / (Cpu() - cpu).TotalSeconds);
}

double Percentile(IEnumerable<double> values, double p)
{
    var sorted = values.Order().ToArray();
    return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}

// Raw loop: the same batched work as the scheduler (one batched prefill, one ORT call per step for all rows, the
// same sampling with the same seeds, so the same tokens) with no threads, queues, channels or text around it.
// The raw loop with delivery: each stream's tokens go through its own TextAccumulator into a channel that one
// awaiting reader per stream drains, as the service's request handlers do.
async Task<(double Wall, double Cpu)> RawLoopAsync(OnnxDecoder decoder, int streams, bool deliver)
{
    if (!deliver)
    {
        return RawLoop(decoder, streams, deliver: false);
    }

    var cpu = Cpu();
    var started = Stopwatch.GetTimestamp();
    var channels = Enumerable.Range(0, streams).Select(_ => System.Threading.Channels.Channel.CreateUnbounded<GenerationEvent>(
        new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true, SingleWriter = true })).ToArray();
    var readers = channels.Select(c => Task.Run(async () =>
    {
        var n = 0;
        await foreach (var _ in c.Reader.ReadAllAsync())
        {
            n++;
        }

        return n;
    })).ToArray();
    var loop = Task.Run(() => RawLoop(decoder, streams, deliver: true, channels));
    await loop;
    await Task.WhenAll(readers);
    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
    return (streams * tokens / seconds, streams * tokens / (Cpu() - cpu).TotalSeconds);
}

(double TokensPerSecond, double TokensPerCpuSecond) RawLoop(OnnxDecoder decoder, int streams, bool deliver = false,
    System.Threading.Channels.Channel<GenerationEvent>[]? channels = null)
{
    var texts = Enumerable.Range(0, streams).Select(_ => new TextAccumulator([])).ToArray();
    void Deliver(int row, long token)
    {
        if (deliver)
        {
            var (text, _) = texts[row].Append(tokenizer.TokenBytes((int)token));
            if (text.Length > 0)
            {
                channels![row].Writer.TryWrite(new GenerationEvent.Token(text));
            }
        }
    }

    var cpu = Cpu();
    var started = Stopwatch.GetTimestamp();
    var prompts = Enumerable.Range(0, streams).Select(i => (IReadOnlyList<int>)Prompt(i)).ToList();
    var parameters = Enumerable.Range(0, streams).Select(i => Params(i)).ToArray();
    var randoms = Enumerable.Range(0, streams).Select(i => new Random(1000 + i)).ToArray();
    var scratch = new SamplerScratch(decoder.Vocabulary);
    var (logits0, past) = decoder.PrefillBatch(prompts);
    var length = prompts.Max(p => p.Count);
    var pads = prompts.Select(p => length - p.Count).ToArray();
    var positions = prompts.Select(p => (long)p.Count).ToArray();
    var vocab = decoder.Vocabulary;
    var logits = new float[streams * vocab];
    var next = new long[streams];
    for (var i = 0; i < streams; i++)
    {
        next[i] = Sampler.Sample(logits0.AsSpan(i * vocab, vocab), parameters[i], randoms[i], scratch);
        Deliver(i, next[i]);
    }

    if (decoder.UpdatesKvInPlace)
    {
        past = WithCapacity(decoder, past, streams, length, length + tokens);
    }

    for (var step = 1; step < tokens; step++)
    {
        if (decoder.UpdatesKvInPlace)
        {
            decoder.StepInPlace(streams, length, next, positions, pads, past, logits);
        }
        else
        {
            var present = decoder.Step(streams, length, next, positions, pads, past, logits);
            foreach (var v in past)
            {
                v.Dispose();
            }

            past = present;
        }

        length++;
        for (var i = 0; i < streams; i++)
        {
            next[i] = Sampler.Sample(logits.AsSpan(i * vocab, vocab), parameters[i], randoms[i], scratch);
            Deliver(i, next[i]);
            positions[i]++;
        }
    }

    foreach (var v in past)
    {
        v.Dispose();
    }

    if (deliver)
    {
        for (var i = 0; i < streams; i++)
        {
            var rest = texts[i].Flush();
            if (rest.Length > 0)
            {
                channels![i].Writer.TryWrite(new GenerationEvent.Token(rest));
            }

            channels![i].Writer.TryWrite(new GenerationEvent.End("length", prompts[i].Count, tokens));
            channels[i].Writer.TryComplete();
        }
    }

    return (streams * tokens / Stopwatch.GetElapsedTime(started).TotalSeconds, streams * tokens / (Cpu() - cpu).TotalSeconds);
}

Console.WriteLine($"prompt lengths of the 16 bench prompts: {string.Join(", ", Enumerable.Range(0, 16).Select(i => Prompt(i).Count))}");
Console.WriteLine($"model {folder}, {tokens} tokens per stream, {Environment.ProcessorCount} cores, intra-op threads {intraOpThreads} ({intraOpReason}), ORT spinning {allowSpinning}, temperature 0.8 top_p {topP} top_k {topK}, split steps from {splitStepRows} rows (0 = never), stream interval {streamInterval.TotalMilliseconds} ms, load {Load()}");
if (sections.Contains("memory"))
{
    // Resident memory added by loading each model (weights, session arenas after a short warm run), measured
    // first, after a full GC, so nothing else the bench loads is counted.
    static long Rss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }

    // The ONNX Runtime library itself is shared by every model: load it before the baseline.
    _ = Microsoft.ML.OnnxRuntime.OrtEnv.Instance();
    var before = Rss();
    var chat = NewScheduler(32);
    await RunAsync(chat, 16, maxTokens: 32);
    var afterChat = Rss();
    var embedder = NewEmbedder(out _);
    embedder.Embed(verses);
    var afterEmbedder = Rss();
    Console.WriteLine($"\nRSS delta: chat model {Path.GetFileName(folder)} (session + 16-stream warm run) {(afterChat - before) / 1048576.0:F1} MiB, " +
        $"all-MiniLM-L6-v2 {(afterEmbedder - afterChat) / 1048576.0:F1} MiB");
    chat.Dispose();
    embedder.Dispose();
}

using (var warm = NewScheduler(32))
{
    Console.WriteLine($"execution provider {provider}");
    await RunAsync(warm, 4);
}

if (sections.Contains("batching"))
{
    // Interleaved rounds (one at a time, then batched, each round): best of each side, since the machine is shared
    // and each side's least disturbed run counts, and the median of the per-round ratios, which a slow drift of the
    // machine's speed between rounds moves less than it moves either side's best.
    Console.WriteLine($"\nbest of max({minRounds}, 32 / streams) interleaved rounds; median of per-round ratios");
    Console.WriteLine("| streams | rounds | one at a time tok/s | continuous batching tok/s | speed-up (best) | speed-up (median of rounds) | " +
        "one at a time tok/CPU-s | batching tok/CPU-s | speed-up (CPU, best) | speed-up (CPU, median of rounds) |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
    foreach (var streams in new[] { 1, 4, 16, 32 })
    {
        using var serial = NewScheduler(1);
        using var batched = NewScheduler(32);
        // Fresh sessions are slow for their first calls (allocation, kernel selection): warm both before measuring.
        await RunAsync(serial, 2, maxTokens: 16);
        await RunAsync(batched, streams, maxTokens: 16);
        var one = 0.0;
        var many = 0.0;
        var oneCpu = 0.0;
        var manyCpu = 0.0;
        // Small stream counts finish in tens of milliseconds: more rounds, so a scheduling hiccup does not decide.
        var ratios = new List<double>();
        var cpuRatios = new List<double>();
        var rounds = Math.Max(minRounds, 32 / streams);
        for (var round = 0; round < rounds; round++)
        {
            var a = await RunAsync(serial, streams);
            var b = await RunAsync(batched, streams);
            ratios.Add(b.TokensPerSecond / a.TokensPerSecond);
            cpuRatios.Add(b.TokensPerCpuSecond / a.TokensPerCpuSecond);
            if (a.Tokens != b.Tokens)
            {
                Console.WriteLine($"  (token totals differ: {a.Tokens} vs {b.Tokens})");
            }

            one = Math.Max(one, a.TokensPerSecond);
            many = Math.Max(many, b.TokensPerSecond);
            oneCpu = Math.Max(oneCpu, a.TokensPerCpuSecond);
            manyCpu = Math.Max(manyCpu, b.TokensPerCpuSecond);
        }

        Console.WriteLine($"| {streams} | {rounds} | {one:F0} | {many:F0} | {many / one:F2}x | {Percentile(ratios, 0.5):F2}x | {oneCpu:F0} | {manyCpu:F0} | " +
            $"{manyCpu / oneCpu:F2}x | {Percentile(cpuRatios, 0.5):F2}x |");
    }

    Console.WriteLine($"load {Load()}");
}

if (sections.Contains("ttft"))
{
    using var scheduler = NewScheduler(32);
    await RunAsync(scheduler, 16, maxTokens: 16);
    var idle = new List<double>();
    var underLoad = new List<double>();
    var burst = new List<double>();
    for (var round = 0; round < minRounds; round++)
    {
        for (var i = 0; i < 16; i++)
        {
            idle.AddRange((await RunAsync(scheduler, 1, maxTokens: 2)).Ttft);
        }

        burst.AddRange((await RunAsync(scheduler, 16)).Ttft);

        // Steady state: 16 long streams decode while single requests arrive one after another.
        var background = Enumerable.Range(0, 16)
            .Select(i => new GenerationJob(Prompt(i), new SamplingParameters(config.ContextLength - 40, 0.8, 1.0, 0, 2000 + i, []), CancellationToken.None))
            .ToList();
        background.ForEach(j => scheduler.TryEnqueue(j));
        while (background.Any(j => j.FirstTokenAt is null))
        {
            await Task.Delay(1);
        }

        for (var i = 0; i < 16 && background.All(j => !j.Events.Completion.IsCompleted); i++)
        {
            underLoad.AddRange((await RunAsync(scheduler, 1, maxTokens: 2)).Ttft);
        }

        await Task.WhenAll(background.Select(async j => { await foreach (var _ in j.Events.ReadAllAsync()) { } }));
    }

    var (i50, i95) = (Percentile(idle, 0.5), Percentile(idle, 0.95));
    var (l50, l95) = (Percentile(underLoad, 0.5), Percentile(underLoad, 0.95));
    Console.WriteLine($"\nTTFT idle ({idle.Count} samples) p50 {i50:F2} ms p95 {i95:F2} ms");
    Console.WriteLine($"TTFT of a request arriving while 16 streams decode ({underLoad.Count} samples): p50 {l50:F2} ms p95 {l95:F2} ms " +
        $"(p50 {l50 / i50:F2}x idle, p95 {l95 / i95:F2}x idle)");
    Console.WriteLine($"TTFT of 16 requests arriving together ({burst.Count} samples): p50 {Percentile(burst, 0.5):F2} ms p95 {Percentile(burst, 0.95):F2} ms");
    Console.WriteLine($"load {Load()}");
}

if (sections.Contains("efficiency"))
{
    // Like with like: the same session settings (intra-op threads), the same 16 prompts admitted together (one
    // batched prefill, then 16-row steps until every stream has its tokens), the same sampler and seeds, so the
    // same tokens. Three ways, alternating every round:
    //   raw       the decode loop alone: prefill, steps, sampling; tokens stay in arrays;
    //   delivery  raw plus what the service does per token outside ONNX Runtime: text decoding (TextAccumulator)
    //             and a channel write per token read by one awaiting reader per stream (as the SSE endpoint does);
    //   service   the real BatchScheduler (prefill thread, decode thread, join/compaction, metrics, channels), each
    //             token to its request's reader (the streamed, SSE path);
    //   collect   the same scheduler with non-streamed requests (v1/generate): tokens collected on the decode
    //             thread, each reader woken once at the end.
    // raw→delivery is the cost of handing tokens to requests; delivery→service is the scheduler's own cost.
    var effRounds = int.Parse(Environment.GetEnvironmentVariable("DAPRLLM_BENCH_EFFICIENCY_ROUNDS") ?? "9", System.Globalization.CultureInfo.InvariantCulture);
    using var scheduler = NewScheduler(32);
    using var rawDecoder = NewDecoder();
    var steps = 0L;
    var stepRows = 0L;
    using var listener = new System.Diagnostics.Metrics.MeterListener();
    listener.InstrumentPublished = (instrument, l) =>
    {
        if (instrument.Name == "daprllm.inference.batch_size")
        {
            l.EnableMeasurementEvents(instrument);
        }
    };
    listener.SetMeasurementEventCallback<int>((_, rows, _, _) =>
    {
        Interlocked.Increment(ref steps);
        Interlocked.Add(ref stepRows, rows);
    });
    listener.Start();
    await RunAsync(scheduler, 16, maxTokens: 16, together: true);
    RawLoop(rawDecoder, 16, deliver: false); // warm-up, like the scheduler's
    await RawLoopAsync(rawDecoder, 16, deliver: true);
    var modes = new[] { "raw", "delivery", "service", "collect" };
    var wall = modes.ToDictionary(m => m, _ => new List<double>());
    var cpu = modes.ToDictionary(m => m, _ => new List<double>());
    var serviceSteps = new List<(long Steps, long Rows)>();
    // Thread-pool work items per round: mostly reader wake-ups, the cost that streaming adds to the raw loop.
    var wakeUps = modes.ToDictionary(m => m, _ => new List<double>());
    Console.WriteLine($"\nefficiency: 16 streams x {tokens} tokens, {effRounds} alternating rounds, intra-op threads {intraOpThreads}, load {Load()}");
    for (var round = 0; round < effRounds; round++)
    {
        // Rotate the order so no mode always runs first (or right after another) in a round.
        for (var k = 0; k < modes.Length; k++)
        {
            var mode = modes[(round + k) % modes.Length];
            (double Wall, double Cpu) r;
            var items = ThreadPool.CompletedWorkItemCount;
            if (mode is "service" or "collect")
            {
                var (s0, r0) = (Interlocked.Read(ref steps), Interlocked.Read(ref stepRows));
                var run = await RunAsync(scheduler, 16, together: true, collect: mode == "collect");
                serviceSteps.Add((Interlocked.Read(ref steps) - s0, Interlocked.Read(ref stepRows) - r0));
                r = (run.TokensPerSecond, run.TokensPerCpuSecond);
            }
            else
            {
                r = await RawLoopAsync(rawDecoder, 16, deliver: mode == "delivery");
            }

            wakeUps[mode].Add(ThreadPool.CompletedWorkItemCount - items);
            wall[mode].Add(r.Wall);
            cpu[mode].Add(r.Cpu);
        }
    }

    string Spread(List<double> v) => $"{Percentile(v, 0.5):F0} [{v.Min():F0}-{v.Max():F0}]";
    Console.WriteLine($"decode steps per service round: {string.Join(", ", serviceSteps.Select(x => $"{x.Steps} ({x.Rows} rows)").Distinct())}; raw/delivery: {tokens - 1} ({(tokens - 1) * 16} rows)");
    Console.WriteLine("| mode | tok/s median [min-max] | tok/CPU-s median [min-max] | median vs raw (wall) | median vs raw (CPU) | thread-pool items per round |");
    Console.WriteLine("|---|---|---|---|---|---|");
    foreach (var m in modes)
    {
        Console.WriteLine($"| {m} | {Spread(wall[m])} | {Spread(cpu[m])} | {Percentile(wall[m], 0.5) / Percentile(wall["raw"], 0.5):F2} | " +
            $"{Percentile(cpu[m], 0.5) / Percentile(cpu["raw"], 0.5):F2} | {Percentile(wakeUps[m], 0.5):F0} |");
    }

    // Per-round ratios (service / raw of the same round) are less sensitive to slow drifts of the machine's load.
    foreach (var m in new[] { "service", "collect" })
    {
        var paired = wall[m].Zip(wall["raw"], (a, b) => a / b).ToList();
        var pairedCpu = cpu[m].Zip(cpu["raw"], (a, b) => a / b).ToList();
        Console.WriteLine($"{m}/raw per round: wall median {Percentile(paired, 0.5):F2} [{paired.Min():F2}-{paired.Max():F2}], " +
            $"CPU median {Percentile(pairedCpu, 0.5):F2} [{pairedCpu.Min():F2}-{pairedCpu.Max():F2}]");
    }

    Console.WriteLine($"load {Load()}");
}

if (sections.Contains("sampling"))
{
    // Microseconds per row to sample from the model's real first-token logits of the 16 bench prompts: the sampler
    // against the whole-vocabulary sort it used before session 8 (same seeds; the bench checks the tokens agree).
    using var decoder = NewDecoder();
    var (rowsLogits, kv) = decoder.PrefillBatch([.. Enumerable.Range(0, 16).Select(i => (IReadOnlyList<int>)Prompt(i))]);
    foreach (var v in kv)
    {
        v.Dispose();
    }

    var vocab = decoder.Vocabulary;
    var scratch = new SamplerScratch(vocab);
    // Warm-up: both ways, every setting, until the JIT has optimised them (cold code read several times slower).
    for (var n = 0; n < 20_000; n++)
    {
        var warm = new SamplingParameters(1, 0.8, n % 3 == 0 ? 1.0 : 0.9, n % 2 == 0 ? 0 : 40, null, []);
        Sampler.Sample(rowsLogits.AsSpan(n % 16 * vocab, vocab), warm, new Random(n), scratch);
        FullSortSampler.Sample(rowsLogits.AsSpan(n % 16 * vocab, vocab), warm, new Random(n));
    }

    Console.WriteLine("\n| sampling (T 0.8) | sampler us/row | full sort us/row | ratio | tokens equal |");
    Console.WriteLine("|---|---|---|---|---|");
    foreach (var (p, k) in new[] { (1.0, 0), (0.9, 0), (0.95, 0), (1.0, 40), (0.9, 40) })
    {
        var parameters = new SamplingParameters(1, 0.8, p, k, null, []);
        double Time(Func<int, Random, int> sample, List<int> picked)
        {
            var best = double.MaxValue;
            for (var round = 0; round < 5; round++)
            {
                picked.Clear();
                var started = Stopwatch.GetTimestamp();
                for (var n = 0; n < 2000; n++)
                {
                    picked.Add(sample(n % 16, new Random(n)));
                }

                best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalMicroseconds / 2000);
            }

            return best;
        }

        var mine = new List<int>();
        var sorted = new List<int>();
        var a = Time((r, random) => Sampler.Sample(rowsLogits.AsSpan(r * vocab, vocab), parameters, random, scratch), mine);
        var b = Time((r, random) => FullSortSampler.Sample(rowsLogits.AsSpan(r * vocab, vocab), parameters, random), sorted);
        Console.WriteLine($"| top_p {p} top_k {k} | {a:F2} | {b:F2} | {b / a:F1}x | {mine.Zip(sorted).Count(x => x.First == x.Second)}/{mine.Count} |");
    }

    Console.WriteLine($"load {Load()}");
}

if (sections.Contains("hotloop"))
{
    // Steady-state raw decode loop at DAPRLLM_BENCH_PROFILE_STREAMS rows for DAPRLLM_BENCH_HOTLOOP_SECONDS: a target for
    // `perf record -p <pid>` (only the loop runs, no setup or profiler), and its tokens per second.
    var rows = int.Parse(Environment.GetEnvironmentVariable("DAPRLLM_BENCH_PROFILE_STREAMS") ?? "16", System.Globalization.CultureInfo.InvariantCulture);
    var seconds = double.Parse(Environment.GetEnvironmentVariable("DAPRLLM_BENCH_HOTLOOP_SECONDS") ?? "20", System.Globalization.CultureInfo.InvariantCulture);
    using var decoder = NewDecoder();
    RawLoop(decoder, rows);
    Console.WriteLine($"hotloop pid {Environment.ProcessId}, {rows} rows, {seconds} s");
    var started = Stopwatch.GetTimestamp();
    var passes = new List<double>();
    while (Stopwatch.GetElapsedTime(started).TotalSeconds < seconds)
    {
        passes.Add(RawLoop(decoder, rows).TokensPerSecond);
    }

    Console.WriteLine($"hotloop: {passes.Count} passes, tok/s median {Percentile(passes, 0.5):F0} [{passes.Min():F0}-{passes.Max():F0}], load {Load()}");
}

if (sections.Contains("profile"))
{
    // Where one 16-row decode step's time goes: ORT Run vs sampling (stopwatch), and inside ORT per operator type
    // (ORT's own profiler, kernel events only). Not a throughput figure: the profiler slows every kernel a little.
    var options = new Microsoft.ML.OnnxRuntime.SessionOptions { GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL };
    if (intraOpThreads > 0)
    {
        options.IntraOpNumThreads = intraOpThreads;
    }

    var prefix = Path.Combine(Path.GetTempPath(), $"daprllm-profile-{Environment.ProcessId}");
    foreach (var profiled in new[] { false, true })
    {
        if (profiled)
        {
            options.EnableProfiling = true;
            options.ProfileOutputPathPrefix = prefix;
        }

        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Path.Combine(folder, config.ModelFile), options);
        var modelPath = Path.Combine(folder, config.ModelFile);
        using var decoder = new OnnxDecoder(session, config, OnnxGraph.UsesOperator(modelPath, "GroupQueryAttention") ? KvPadding.Right : KvPadding.Left);
        var streams = int.Parse(Environment.GetEnvironmentVariable("DAPRLLM_BENCH_PROFILE_STREAMS") ?? "16", System.Globalization.CultureInfo.InvariantCulture);
        var prompts = Enumerable.Range(0, streams).Select(i => (IReadOnlyList<int>)Prompt(i)).ToList();
        var vocab = decoder.Vocabulary;
        var logits = new float[streams * vocab];
        var scratch = new SamplerScratch(vocab);
        for (var pass = 0; pass < 3; pass++)
        {
            var randoms = Enumerable.Range(0, streams).Select(i => new Random(1000 + i)).ToArray();
            var (_, past) = decoder.PrefillBatch(prompts);
            var length = prompts.Max(p => p.Count);
            if (decoder.UpdatesKvInPlace)
            {
                past = WithCapacity(decoder, past, streams, length, length + tokens);
            }

            var pads = prompts.Select(p => length - p.Count).ToArray();
            var positions = prompts.Select(p => (long)p.Count).ToArray();
            var next = new long[streams];
            long run = 0, sample = 0, free = 0;
            var started = Stopwatch.GetTimestamp();
            for (var step = 1; step < tokens; step++)
            {
                var t0 = Stopwatch.GetTimestamp();
                long t1;
                if (decoder.UpdatesKvInPlace)
                {
                    decoder.StepInPlace(streams, length, next, positions, pads, past, logits);
                    t1 = Stopwatch.GetTimestamp();
                }
                else
                {
                    var present = decoder.Step(streams, length, next, positions, pads, past, logits);
                    t1 = Stopwatch.GetTimestamp();
                    foreach (var v in past)
                    {
                        v.Dispose();
                    }

                    past = present;
                }

                length++;
                var t2 = Stopwatch.GetTimestamp();
                for (var i = 0; i < streams; i++)
                {
                    next[i] = Sampler.Sample(logits.AsSpan(i * vocab, vocab), Params(i), randoms[i], scratch);
                    positions[i]++;
                }

                var t3 = Stopwatch.GetTimestamp();
                (run, free, sample) = (run + t1 - t0, free + t2 - t1, sample + t3 - t2);
            }

            foreach (var v in past)
            {
                v.Dispose();
            }

            var total = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency / (tokens - 1);
            Console.WriteLine($"profile{(profiled ? " (ORT profiler on)" : "")} pass {pass}: {streams} rows x {tokens - 1} steps, per step {total / (tokens - 1):F3} ms: " +
                $"ORT run {Ms(run):F3}, free past {Ms(free):F3}, sampling {Ms(sample):F3} ms");
        }

        if (profiled)
        {
            var file = session.EndProfiling();
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
            var byOp = new Dictionary<string, (double Us, int Count)>();
            var all = 0.0;
            foreach (var e in json.RootElement.EnumerateArray())
            {
                if (e.GetProperty("cat").GetString() == "Node" && e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal))
                {
                    var op = e.GetProperty("args").GetProperty("op_name").GetString()!;
                    var dur = e.GetProperty("dur").GetDouble();
                    all += dur;
                    byOp[op] = byOp.TryGetValue(op, out var x) ? (x.Us + dur, x.Count + 1) : (dur, 1);
                }
            }

            Console.WriteLine($"ORT kernel time by operator (prefills and steps of the profiled passes, {all / 1000:F1} ms in all):");
            foreach (var (op, (us, count)) in byOp.OrderByDescending(kv => kv.Value.Us).Take(14))
            {
                Console.WriteLine($"  {op,-22} {us / 1000,9:F1} ms {100 * us / all,5:F1} %  ({count} kernel runs)");
            }

            File.Delete(file);
        }
    }

    options.Dispose();
    Console.WriteLine($"load {Load()}");
}

if (sections.Contains("greedy"))
{
    // Greedy (temperature 0) completions of the bench prompts through the scheduler, 16 together, end-of-turn kept:
    // to compare two model files token for token.
    using var scheduler = new BatchScheduler("bench", provider, NewDecoder(), tokenizer, config.EosTokenIds, config.ContextLength, 32, 1024, metrics,
        NullLogger.Instance, streamInterval);
    var jobs = Enumerable.Range(0, 16).Select(i => new GenerationJob(
        template.Render([new ChatMessage("user", verses[i % verses.Length] + (i >= verses.Length ? " And" : ""))]),
        new SamplingParameters(tokens, 0, 1.0, 0, null, []), CancellationToken.None, streamTokens: false)).ToList();
    scheduler.TryEnqueueAll(jobs);
    foreach (var job in jobs)
    {
        await foreach (var _ in job.Events.ReadAllAsync())
        {
        }

        Console.WriteLine($"greedy: {job.CollectedText.ReplaceLineEndings(" ")}");
    }
}

if (sections.Contains("replay"))
{
    // Replays a JSONL of demo answers (DAPRLLM_BENCH_REPLAY, e.g. models/safety/eval/demo_model_outputs.jsonl: meta.prompt,
    // temperature, max_tokens, seed) through the scheduler, 16 at a time, end of turn kept, and prints each answer: to
    // compare two model files' outputs row by row.
    var endIds = config.EosTokenIds.Append(template.EndOfTurnId).ToArray();
    using var scheduler = new BatchScheduler("bench", provider, NewDecoder(), tokenizer, endIds, config.ContextLength, 32, 1024, metrics,
        NullLogger.Instance, streamInterval);
    var rows = File.ReadLines(Environment.GetEnvironmentVariable("DAPRLLM_BENCH_REPLAY")!).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.Clone()).ToList();
    foreach (var chunk in rows.Chunk(16))
    {
        var jobs = chunk.Select(r =>
        {
            var meta = r.GetProperty("meta");
            return new GenerationJob(template.Render([new ChatMessage("user", meta.GetProperty("prompt").GetString()!)]),
                new SamplingParameters(meta.GetProperty("max_tokens").GetInt32(), meta.GetProperty("temperature").GetDouble(), 1.0, 0,
                    meta.GetProperty("seed").GetInt32(), []), CancellationToken.None, streamTokens: false);
        }).ToList();
        scheduler.TryEnqueueAll(jobs);
        for (var i = 0; i < jobs.Count; i++)
        {
            await foreach (var _ in jobs[i].Events.ReadAllAsync())
            {
            }

            Console.WriteLine($"replay {chunk[i].GetProperty("id").GetString()}: {jobs[i].CollectedText.ReplaceLineEndings(" ")}");
        }
    }
}

if (sections.Contains("embeddings"))
{
    var sentences = Enumerable.Range(0, 32).Select(i => verses[i % verses.Length] + $" ({i})").ToArray();
    using var embedder = NewEmbedder(out var embedderProvider);
    embedder.Embed(sentences);
    Console.WriteLine($"\n| embeddings batch ({embedderProvider}) | sentences/s (best of 3 × 2 s) |");
    Console.WriteLine("|---|---|");
    foreach (var size in new[] { 1, 32 })
    {
        var best = 0.0;
        for (var round = 0; round < Rounds; round++)
        {
            var started = Stopwatch.GetTimestamp();
            var done = 0;
            while (Stopwatch.GetElapsedTime(started).TotalSeconds < 2)
            {
                embedder.Embed(sentences[..size]);
                done += size;
            }

            best = Math.Max(best, done / Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        Console.WriteLine($"| {size} | {best:F0} |");
    }

    Console.WriteLine($"load {Load()}");
}

SentenceEmbedder NewEmbedder(out string used)
{
    foreach (var p in providers)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = intraOpThreads };
        try
        {
            if (p == "CUDA")
            {
                options.AppendExecutionProvider_CUDA(0);
            }

            used = p;
            return new SentenceEmbedder(new SentenceEmbedderOptions { MaxBatchSize = 32 }, options);
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException) when (p == "CUDA")
        {
            // No CUDA here: the next preference.
        }
    }

    throw new InvalidOperationException("no execution provider for the embedder");
}

// Copies right-padded prefill KV ([n, H, length, hd]) into tensors with room for `capacity` positions per row, for
// in-place steps (GroupQueryAttention models), and frees the prefill KV.
static Microsoft.ML.OnnxRuntime.OrtValue[] WithCapacity(OnnxDecoder decoder, Microsoft.ML.OnnxRuntime.OrtValue[] kv, int rows, int length, int capacity)
{
    var heads = decoder.Config.KvHeads;
    var width = decoder.Config.HeadSize * decoder.KvElementSize;
    var grown = new Microsoft.ML.OnnxRuntime.OrtValue[kv.Length];
    for (var t = 0; t < kv.Length; t++)
    {
        grown[t] = decoder.NewKv(rows, capacity);
        var src = kv[t].GetTensorDataAsSpan<byte>();
        var dst = grown[t].GetTensorMutableRawData();
        for (var rh = 0; rh < rows * heads; rh++)
        {
            src.Slice(rh * length * width, length * width).CopyTo(dst[(rh * capacity * width)..]);
        }

        kv[t].Dispose();
    }

    return grown;
}
