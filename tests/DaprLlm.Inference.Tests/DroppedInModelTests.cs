using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// A dropped-in ORT GenAI folder shaped like the fp16 GQA exports (Phi-3.5, Qwen2.5, Llama): float16 KV cache and
/// logits, 2 KV heads for 4 attention heads. The committed tiny model (tools/demo-model/make_tiny_gqa_fp16.py)
/// runs through the same decoder, scheduler and HTTP API as the demo model.
/// </summary>
public sealed class DroppedInModelTests : IDisposable
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestModels", "tiny-gqa-fp16");
    private readonly GenAiConfig _config = GenAiConfig.Load(Folder);
    private readonly ModelTokenizer _tokenizer = ModelTokenizer.Load(Folder);
    private readonly OnnxDecoder _decoder;

    public DroppedInModelTests()
    {
        var (session, _) = SessionFactory.Create(Path.Combine(Folder, _config.ModelFile), ["CPU"], 1, NullLogger.Instance);
        _decoder = new OnnxDecoder(session, _config);
    }

    [Fact]
    public void Kv_head_count_and_float16_cache_come_from_the_folder()
    {
        Assert.Equal(2, _config.KvHeads);
        Assert.Equal(8, _config.HeadSize);
        Assert.Equal(TensorElementType.Float16, _decoder.KvElementType);
        Assert.Equal(2, _decoder.KvElementSize);
        var (_, kv) = _decoder.Prefill([1, 2, 3]);
        Assert.Equal([1L, 2, 3, 8], kv[0].GetTensorTypeAndShape().Shape);
        foreach (var v in kv)
        {
            v.Dispose();
        }
    }

    [Fact]
    public void Float16_kv_cache_steps_give_the_same_logits_as_full_recomputation()
    {
        var ids = ChatTemplate.For(_tokenizer).Render([new("user", "Jesus wept.")]);
        var (logits, past) = _decoder.Prefill(ids);
        var sequence = new List<int>(ids);
        for (var i = 0; i < 6; i++)
        {
            var next = Sampler.ArgMax(logits);
            sequence.Add(next);
            var (stepLogits, present) = _decoder.Step(1, sequence.Count - 1, [next], [sequence.Count - 1], [0], past);
            Dispose(past);
            past = present;
            var (full, fullKv) = _decoder.Prefill(sequence);
            Dispose(fullKv);
            Assert.Equal(full, stepLogits);
            logits = stepLogits;
        }

        Dispose(past);
    }

    [Fact]
    public async Task Concurrent_greedy_requests_on_the_float16_gqa_model_equal_their_solo_runs()
    {
        var ct = TestContext.Current.CancellationToken;
        var metrics = new InferenceMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
        var (session, provider) = SessionFactory.Create(Path.Combine(Folder, _config.ModelFile), ["CPU"], 1, NullLogger.Instance);
        using var scheduler = new BatchScheduler("tiny", provider, new OnnxDecoder(session, _config), _tokenizer, [], _config.ContextLength, 8, 16,
            metrics, NullLogger.Instance);
        string[] prompts = ["Jesus wept.", "The LORD is my shepherd; I shall not want.", "Praise ye the LORD.", "And Moses went up unto God."];

        var solo = new List<string>();
        foreach (var (p, i) in prompts.Select((p, i) => (p, i)))
        {
            solo.Add(await RunAsync(scheduler, p, 8 + 3 * i, ct));
        }

        var together = await Task.WhenAll(prompts.Select((p, i) => RunAsync(scheduler, p, 8 + 3 * i, ct)));

        Assert.Equal(solo, together);
        Assert.All(solo, s => Assert.EndsWith("|length", s, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dropped_in_folder_serves_through_the_catalog_and_http_api()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = new DroppedInAppFactory(Folder);
        using var client = app.CreateClient();

        var answer = await Api.GenerateAsync(client, Api.Request("Jesus wept.", maxTokens: 5, model: DroppedInAppFactory.TinyModel), ct);

        Assert.Equal(5, answer.GetProperty("completionTokens").GetInt32());
        Assert.Equal("length", answer.GetProperty("finishReason").GetString());
        var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models");
        var entry = models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == DroppedInAppFactory.TinyModel);
        Assert.Equal("ready", entry.GetProperty("status").GetString());
        Assert.Equal(128, entry.GetProperty("contextLength").GetInt32());
    }

    private static Task<string> RunAsync(BatchScheduler scheduler, string prompt, int maxTokens, CancellationToken ct) =>
        SchedulerRuns.GreedyAsync(scheduler, Folder, prompt, maxTokens, ct);

    private static void Dispose(IEnumerable<Microsoft.ML.OnnxRuntime.OrtValue> values) => SchedulerRuns.DisposeAll(values);

    public void Dispose() => _decoder.Dispose();

    private sealed class DroppedInAppFactory(string folder) : InferenceAppFactory
    {
        public const string TinyModel = "tiny-gqa-fp16";

        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            [$"Inference:Models:{TinyModel}:Path"] = folder,
            [$"Inference:Models:{TinyModel}:Tier"] = "small",
            [$"Inference:Models:{TinyModel}:ExecutionProviders:0"] = "CPU",
        };
    }
}
