using System.Diagnostics;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

// Usage: DaprLlm.Bench.Inference [modelFolder] [tokensPerStream] [CPU|CUDA]
// Every stream samples with its own seed, so one-at-a-time and batched runs generate the same tokens (batching
// does not change a request's output) and tokens/s compare like for like.
var folder = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "models", "daprllm-kjv-small");
var tokens = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64;
string[] providers = args.Length > 2 ? [args[2], "CPU"] : ["CPU"];

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
SamplingParameters Params(int i) => new(tokens, 0.8, 1.0, 0, 1000 + i, []);

BatchScheduler NewScheduler(int maxBatch, out string provider)
{
    var (session, p) = SessionFactory.Create(Path.Combine(folder, config.ModelFile), providers, 0, NullLogger.Instance);
    provider = p;
    return new BatchScheduler("bench", p, new OnnxDecoder(session, config), tokenizer, [], config.ContextLength, maxBatch, 1024, metrics, NullLogger.Instance);
}

async Task<(double TokensPerSecond, double[] Ttft, long Tokens)> RunAsync(BatchScheduler scheduler, int streams)
{
    var started = Stopwatch.GetTimestamp();
    var jobs = Enumerable.Range(0, streams).Select(i => new GenerationJob(Prompt(i), Params(i), CancellationToken.None)).ToList();
    foreach (var job in jobs)
    {
        if (!scheduler.TryEnqueue(job))
        {
            throw new InvalidOperationException("queue full");
        }
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
    return (total / seconds, ttft, total);
}

double Percentile(double[] values, double p)
{
    var sorted = values.Order().ToArray();
    return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}

// Raw loop: the same batched work (prefill each prompt, then one ORT call per step for all rows) with no
// scheduler, channels, sampling parameters or text handling around it.
double RawLoop(int streams)
{
    var (session, _) = SessionFactory.Create(Path.Combine(folder, config.ModelFile), providers, 0, NullLogger.Instance);
    using var decoder = new OnnxDecoder(session, config);
    var started = Stopwatch.GetTimestamp();
    var prompts = Enumerable.Range(0, streams).Select(Prompt).ToList();
    var prefills = prompts.Select(p => decoder.Prefill(p)).ToList();
    var length = prompts.Max(p => p.Count);
    var heads = config.KvHeads;
    var hd = config.HeadSize;
    var past = new Microsoft.ML.OnnxRuntime.OrtValue[config.Layers * 2];
    for (var t = 0; t < past.Length; t++)
    {
        var dst = new float[streams * heads * length * hd];
        for (var i = 0; i < streams; i++)
        {
            var src = prefills[i].Kv[t].GetTensorDataAsSpan<float>();
            var len = prompts[i].Count;
            for (var h = 0; h < heads; h++)
            {
                src.Slice(h * len * hd, len * hd).CopyTo(dst.AsSpan(((i * heads + h) * length + length - len) * hd));
            }
        }

        past[t] = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(dst, [streams, heads, length, hd]);
    }

    var pads = prompts.Select(p => length - p.Count).ToArray();
    var positions = prompts.Select(p => (long)p.Count).ToArray();
    var next = prefills.Select(p => (long)Sampler.ArgMax(p.Logits)).ToArray();
    for (var step = 1; step < tokens; step++)
    {
        var (logits, present) = decoder.Step(streams, length, next, positions, pads, past);
        foreach (var v in past)
        {
            v.Dispose();
        }

        past = present;
        length++;
        var all = logits.GetTensorDataAsSpan<float>();
        var vocab = all.Length / streams;
        for (var i = 0; i < streams; i++)
        {
            next[i] = Sampler.ArgMax(all.Slice(i * vocab, vocab));
            positions[i]++;
        }

        logits.Dispose();
    }

    return streams * tokens / Stopwatch.GetElapsedTime(started).TotalSeconds;
}

Console.WriteLine($"model {folder}, {tokens} tokens per stream, load {File.ReadAllText("/proc/loadavg").Trim()}");
using (var warm = NewScheduler(32, out var provider))
{
    Console.WriteLine($"execution provider {provider}");
    await RunAsync(warm, 4);
}

Console.WriteLine("| streams | one at a time tok/s | continuous batching tok/s | speed-up |");
Console.WriteLine("|---|---|---|---|");
foreach (var streams in new[] { 1, 4, 16, 32 })
{
    using var serial = NewScheduler(1, out _);
    using var batched = NewScheduler(32, out _);
    var one = await RunAsync(serial, streams);
    var many = await RunAsync(batched, streams);
    if (one.Tokens != many.Tokens)
    {
        Console.WriteLine($"  (token totals differ: {one.Tokens} vs {many.Tokens})");
    }

    Console.WriteLine($"| {streams} | {one.TokensPerSecond:F0} | {many.TokensPerSecond:F0} | {many.TokensPerSecond / one.TokensPerSecond:F2}x |");
}

using (var scheduler = NewScheduler(32, out _))
{
    var idle = new List<double>();
    for (var i = 0; i < 16; i++)
    {
        idle.AddRange((await RunAsync(scheduler, 1)).Ttft);
    }

    var loaded = new List<double>();
    for (var round = 0; round < 3; round++)
    {
        loaded.AddRange((await RunAsync(scheduler, 16)).Ttft);
    }

    Console.WriteLine($"TTFT idle p50 {Percentile([.. idle], 0.5):F1} ms p95 {Percentile([.. idle], 0.95):F1} ms; " +
        $"16 concurrent p50 {Percentile([.. loaded], 0.5):F1} ms p95 {Percentile([.. loaded], 0.95):F1} ms " +
        $"(p50 ratio {Percentile([.. loaded], 0.5) / Percentile([.. idle], 0.5):F2}x)");
    var service = (await RunAsync(scheduler, 16)).TokensPerSecond;
    var raw = RawLoop(16);
    Console.WriteLine($"16 streams: scheduler {service:F0} tok/s, raw ORT loop {raw:F0} tok/s, efficiency {service / raw:F2}");
}
