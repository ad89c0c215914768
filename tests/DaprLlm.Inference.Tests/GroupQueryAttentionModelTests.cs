using System.Diagnostics.Metrics;
using System.Text.Json;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// A folder in onnxruntime-genai builder's layout (tools/demo-model/make_tiny_gqa_op.py): com.microsoft
/// GroupQueryAttention with rotary inside the op, seqlens_k / total_sequence_length computed from the mask, no
/// position_ids, past_present_share_buffer in genai_config.json. The op reads rows from position 0, so the decode
/// loop right-pads them; batched rows must still give their solo outputs.
/// </summary>
public sealed class GroupQueryAttentionModelTests : IDisposable
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestModels", "tiny-gqa-op");
    private readonly GenAiConfig _config = GenAiConfig.Load(Folder);
    private readonly ModelTokenizer _tokenizer = ModelTokenizer.Load(Folder);
    private readonly OnnxDecoder _decoder;

    public GroupQueryAttentionModelTests()
    {
        (_decoder, _) = OnnxDecoder.Open(Folder, _config, ["CPU"], 1, NullLogger.Instance);
    }

    [Fact]
    public void Group_query_attention_graph_is_detected_and_rows_are_right_padded()
    {
        Assert.True(OnnxGraph.UsesOperator(Path.Combine(Folder, "model.onnx"), "GroupQueryAttention"));
        // The fp16 fixture attends with plain ONNX ops (left-padded rows).
        Assert.False(OnnxGraph.UsesOperator(Path.Combine(AppContext.BaseDirectory, "TestModels", "tiny-gqa-fp16", "model.onnx"), "GroupQueryAttention"));
        Assert.Equal(KvPadding.Right, _decoder.Padding);
        Assert.Equal(2, _config.KvHeads);
        var (_, kv) = _decoder.Prefill([1, 2, 3]);
        Assert.Equal([1L, 2, 3, 16], kv[0].GetTensorTypeAndShape().Shape);
        Dispose(kv);
    }

    [Fact]
    public void Kv_cache_steps_give_the_logits_of_full_recomputation()
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
            AssertClose(full, stepLogits);
            logits = stepLogits;
        }

        Dispose(past);
    }

    [Fact]
    public void Right_padded_batch_prefill_and_steps_equal_each_prompt_alone()
    {
        IReadOnlyList<int>[] prompts = [[5, 6, 7, 8, 9, 10, 11], [12, 13], [14, 15, 16, 17]];
        var (batchLogits, batchPast) = _decoder.PrefillBatch(prompts);
        var vocab = _decoder.Vocabulary;
        var longest = prompts.Max(p => p.Count);
        long[] next = [.. prompts.Select((_, r) => (long)Sampler.ArgMax(batchLogits.AsSpan(r * vocab, vocab)))];
        var (stepLogits, present) = _decoder.Step(3, longest, next, [.. prompts.Select(p => (long)p.Count)], [.. prompts.Select(p => longest - p.Count)],
            batchPast);
        Dispose(batchPast);
        Dispose(present);

        for (var r = 0; r < prompts.Length; r++)
        {
            var (alone, kv) = _decoder.Prefill(prompts[r]);
            AssertClose(alone, batchLogits.AsSpan(r * vocab, vocab).ToArray());
            Assert.Equal(Sampler.ArgMax(alone), next[r]);
            var (aloneStep, alonePresent) = _decoder.Step(1, prompts[r].Count, [next[r]], [prompts[r].Count], [0], kv);
            AssertClose(aloneStep, stepLogits.AsSpan(r * vocab, vocab).ToArray());
            Dispose(kv);
            Dispose(alonePresent);
        }
    }

    [Fact]
    public async Task Concurrent_greedy_requests_equal_their_solo_runs()
    {
        var ct = TestContext.Current.CancellationToken;
        var metrics = new InferenceMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
        var (decoder, provider) = OnnxDecoder.Open(Folder, _config, ["CPU"], 1, NullLogger.Instance);
        using var scheduler = new BatchScheduler("tiny-gqa-op", provider, decoder, _tokenizer, [], _config.ContextLength, 8, 16, metrics,
            NullLogger.Instance);
        string[] prompts = ["Jesus wept.", "The LORD is my shepherd; I shall not want.", "Praise ye the LORD.", "And Moses went up unto God.",
            "In the beginning God created the heaven and the earth."];

        var solo = new List<string>();
        for (var i = 0; i < prompts.Length; i++)
        {
            solo.Add(await RunAsync(scheduler, prompts[i], 6 + 4 * i, ct));
        }

        // Different lengths and budgets: rows join, leave and get compacted while others decode.
        var together = await Task.WhenAll(prompts.Select((p, i) => RunAsync(scheduler, p, 6 + 4 * i, ct)));

        Assert.Equal(solo, together);
        Assert.All(solo, s => Assert.EndsWith("|length", s, StringComparison.Ordinal));
        Assert.Equal(5, solo.Distinct().Count());
    }

    [Fact]
    public async Task Builder_layout_folder_serves_through_the_catalog_and_http_api()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = new GqaAppFactory(Folder);
        using var client = app.CreateClient();

        var answer = await Api.GenerateAsync(client, Api.Request("Jesus wept.", maxTokens: 7, model: GqaAppFactory.GqaModel), ct);

        Assert.Equal(7, answer.GetProperty("completionTokens").GetInt32());
        Assert.Equal("length", answer.GetProperty("finishReason").GetString());
        var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models");
        var entry = models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == GqaAppFactory.GqaModel);
        Assert.Equal("ready", entry.GetProperty("status").GetString());
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            // The op's prompt and token paths sum in different orders: equal up to float rounding.
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * Math.Max(1f, Math.Abs(expected[i])),
                $"logit {i}: {expected[i]} vs {actual[i]}");
        }
    }

    private static Task<string> RunAsync(BatchScheduler scheduler, string prompt, int maxTokens, CancellationToken ct) =>
        SchedulerRuns.GreedyAsync(scheduler, Folder, prompt, maxTokens, ct);

    private static void Dispose(IEnumerable<Microsoft.ML.OnnxRuntime.OrtValue> values) => SchedulerRuns.DisposeAll(values);

    public void Dispose() => _decoder.Dispose();

    private sealed class GqaAppFactory(string folder) : InferenceAppFactory
    {
        public const string GqaModel = "tiny-gqa-op";

        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            [$"Inference:Models:{GqaModel}:Path"] = folder,
            [$"Inference:Models:{GqaModel}:Tier"] = "small",
            [$"Inference:Models:{GqaModel}:ExecutionProviders:0"] = "CPU",
        };
    }
}
