using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Inference.Tests;

/// <summary>v1/generate and v1/generate/stream on the demo model through the real app (ONNX Runtime on CPU).</summary>
public sealed class GenerationApiTests(InferenceAppFactory app) : IClassFixture<InferenceAppFactory>
{
    private const string Verse = "And God said, Let there be light: and there was light.";

    [Fact]
    public async Task Greedy_generation_equals_a_reference_decode_with_exact_token_counts()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        var registry = app.Services.GetRequiredService<ModelRegistry>();

        var result = await Api.GenerateAsync(client, Api.Request(Verse, maxTokens: 40), ct);

        // Reference: greedy decoding by full recomputation of the whole sequence at every token (no KV cache, no batch,
        // no scheduler, no stop-text handling) on the execution provider the service reports.
        var provider = (await registry.GetAsync(InferenceAppFactory.Model)).ExecutionProvider;
        var tokenizer = ModelTokenizer.Load(DemoModel.Folder);
        var template = ChatTemplate.For(tokenizer);
        var prompt = template.Render([new("user", Verse)]);
        var config = GenAiConfig.Load(DemoModel.Folder);
        var ends = config.EosTokenIds.Append(template.EndOfTurnId).ToHashSet();
        var (session, _) = SessionFactory.Create(Path.Combine(DemoModel.Folder, config.ModelFile), [provider], 1, NullLogger.Instance);
        using var decoder = new OnnxDecoder(session, config, DemoModel.Padding);
        var sequence = new List<int>(prompt);
        var generated = new List<int>();
        var reason = "length";
        while (generated.Count < 40)
        {
            var (logits, kv) = decoder.Prefill(sequence);
            SchedulerRuns.DisposeAll(kv);
            var next = Sampler.ArgMax(logits);
            if (ends.Contains(next))
            {
                reason = "stop";
                break;
            }

            generated.Add(next);
            sequence.Add(next);
        }

        Assert.Equal(InferenceAppFactory.Model, result.GetProperty("model").GetString());
        Assert.NotEmpty(generated);
        Assert.Equal(tokenizer.Decode(generated), result.GetProperty("text").GetString());
        Assert.Equal(prompt.Count, result.GetProperty("promptTokens").GetInt32());
        Assert.Equal(generated.Count, result.GetProperty("completionTokens").GetInt32());
        Assert.Equal(reason, result.GetProperty("finishReason").GetString());
    }

    [Fact]
    public async Task Max_tokens_caps_the_completion_and_reports_length()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();

        var result = await Api.GenerateAsync(client, Api.Request(Verse, maxTokens: 3), ct);

        Assert.Equal(3, result.GetProperty("completionTokens").GetInt32());
        Assert.Equal("length", result.GetProperty("finishReason").GetString());
    }

    [Fact]
    public async Task Same_seed_and_input_give_the_same_sampled_output()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();

        var first = await Api.GenerateAsync(client, Api.Request(Verse, 30, temperature: 1.0, seed: 42), ct);
        var second = await Api.GenerateAsync(client, Api.Request(Verse, 30, temperature: 1.0, seed: 42), ct);
        var others = await Task.WhenAll(Enumerable.Range(1, 4).Select(s => Api.GenerateAsync(client, Api.Request(Verse, 30, temperature: 1.0, seed: s), ct)));

        Assert.Equal(first.GetProperty("text").GetString(), second.GetProperty("text").GetString());
        Assert.Contains(others, o => o.GetProperty("text").GetString() != first.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Stop_sequence_ends_generation_before_the_sequence()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        var free = (await Api.GenerateAsync(client, Api.Request(Verse, 40), ct)).GetProperty("text").GetString()!;
        Assert.True(free.Length >= 8, $"the greedy text '{free}' is too short to cut");
        var stop = free.Substring(free.Length / 2, 3);
        var expected = free[..free.IndexOf(stop, StringComparison.Ordinal)];

        var result = await Api.GenerateAsync(client, Api.Request(Verse, 40, stop: [stop]), ct);

        Assert.Equal(expected, result.GetProperty("text").GetString());
        Assert.Equal("stop", result.GetProperty("finishReason").GetString());
    }

    [Fact]
    public async Task Stream_sends_token_events_in_order_then_one_end_event_matching_the_plain_result()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        var plain = await Api.GenerateAsync(client, Api.Request(Verse, 30), ct);

        using var response = await client.SendAsync(Api.StreamRequest(Api.Request(Verse, 30)), HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await Api.ReadEventsAsync(response, ct);

        var end = events[^1];
        Assert.Equal("end", end.GetProperty("type").GetString());
        Assert.All(events[..^1], e => Assert.Equal("token", e.GetProperty("type").GetString()));
        Assert.Equal(plain.GetProperty("text").GetString(), string.Concat(events[..^1].Select(e => e.GetProperty("text").GetString())));
        Assert.Equal(plain.GetProperty("completionTokens").GetInt32(), end.GetProperty("completionTokens").GetInt32());
        Assert.Equal(plain.GetProperty("promptTokens").GetInt32(), end.GetProperty("promptTokens").GetInt32());
        Assert.Equal(plain.GetProperty("finishReason").GetString(), end.GetProperty("finishReason").GetString());
        Assert.InRange(events.Count - 1, 1, end.GetProperty("completionTokens").GetInt32());
    }

    [Fact]
    public async Task Unknown_model_is_404_model_not_found()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();

        using var response = await client.PostAsJsonAsync("/v1/generate", Api.Request("hi", model: "no-such-model"), ct);

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "model_not_found", ct);
    }

    [Theory]
    [InlineData("""{"requestId":"r","model":"daprllm-demo","messages":[],"maxTokens":5,"temperature":0}""", "invalid_value")]
    [InlineData("""{"requestId":"r","model":"daprllm-demo","messages":[{"role":"user","content":"hi"}],"maxTokens":0,"temperature":0}""", "invalid_value")]
    [InlineData("""{"requestId":"r","model":"daprllm-demo","messages":[{"role":"user","content":"hi"}],"maxTokens":5,"temperature":0,"logprobs":1}""", "invalid_request")]
    [InlineData("""{"requestId":"r","model":"daprllm-demo","messages":[{"role":"user","content":"hi"}],"maxTokens":5,"temperature":7}""", "invalid_value")]
    [InlineData("""{"requestId":"r","model":"daprllm-demo","messages":[{"role":"user","content":"hi"}],"maxTokens":5,"temperature":0,"topP":0}""", "invalid_value")]
    [InlineData("""{"requestId":"r","model":"daprllm-demo","messages":[{"role":"wizard","content":"hi"}],"maxTokens":5,"temperature":0}""", "invalid_value")]
    [InlineData("""{"requestId":"r","model":"daprllm-demo","messages":[{"role":"user","content":"hi"}],"maxTokens":5000,"temperature":0}""", "context_length_exceeded")]
    [InlineData("""{"requestId":"r","model":"daprllm-demo","messages":[{"role":"user","content":"hi"}],"maxTokens":2147483647,"temperature":0}""", "context_length_exceeded")]
    [InlineData("""{"requestId":"r","model":"daprllm-demo","messages":[""", "invalid_request")]
    public async Task Invalid_request_is_400_with_an_openai_error(string body, string code)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/v1/generate", new StringContent(body, Encoding.UTF8, "application/json"), ct);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, code, ct);
    }

    [Fact]
    public async Task Prompt_longer_than_the_context_is_refused_before_taking_a_slot()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        var longPrompt = string.Concat(Enumerable.Repeat("And it came to pass. ", 200));

        using var response = await client.PostAsJsonAsync("/v1/generate/stream", Api.Request(longPrompt, maxTokens: 1), ct);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "context_length_exceeded", ct);
    }

    [Fact]
    public async Task Health_is_ready_and_models_lists_the_loaded_demo_model_with_its_provider()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();

        using var health = await client.GetAsync("/health", ct);
        var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var demo = models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == InferenceAppFactory.Model);
        Assert.Equal(InferenceAppFactory.Model, demo.GetProperty("id").GetString());
        Assert.Equal("ready", demo.GetProperty("status").GetString());
        Assert.Equal("chat", demo.GetProperty("kind").GetString());
        Assert.Equal("onnx", demo.GetProperty("provider").GetString());
        Assert.Equal("local", demo.GetProperty("region").GetString());
        Assert.Equal(256, demo.GetProperty("contextLength").GetInt32());
        Assert.Contains(demo.GetProperty("executionProvider").GetString(), new[] { "CUDA", "CPU" });
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(status == response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {body}");
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
    }
}
