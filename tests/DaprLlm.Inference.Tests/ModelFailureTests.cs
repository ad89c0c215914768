using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// A model that fails while decoding, and requests that run past the generation time limit: each ends with a clear
/// error, its batch slot comes back, and a failing model is reported so the gateway can route to the fallback tier.
/// </summary>
public sealed class ModelFailureTests
{
    private const string Broken = "broken";

    /// <summary>
    /// A copy of the builder-layout test model (rotary caches for 128 positions inside its GroupQueryAttention
    /// nodes) whose genai_config.json claims a 512-token context: prompts prefill, then ONNX Runtime rejects the
    /// decode step once a row needs positions the caches do not have — a real session failure in the middle of a batch.
    /// </summary>
    // The broken model, loaded lazily on CPU, plus any setting a test adds.
    private static Dictionary<string, string?> BrokenModelSettings(string folder, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            [$"Inference:Models:{Broken}:Path"] = folder,
            [$"Inference:Models:{Broken}:Warm"] = "false",
            [$"Inference:Models:{Broken}:ExecutionProviders:0"] = "CPU",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static string BrokenModelFolder()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "TestModels", "tiny-gqa-op");
        var folder = Directory.CreateTempSubdirectory("daprllm-decode-fails-").FullName;
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        var configPath = Path.Combine(folder, "genai_config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["model"]!["context_length"] = 512;
        // Random weights: no end-of-sequence id it could sample, so every request runs until the model fails.
        config["model"]!["eos_token_id"] = new JsonArray(-1);
        File.WriteAllText(configPath, config.ToJsonString());
        return folder;
    }

    [Fact]
    public async Task A_decode_step_that_throws_fails_every_request_of_the_batch_frees_their_slots_and_reports_the_model_failed()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = BrokenModelFolder();
        try
        {
            // Every slot is taken by the failing batch: a leaked slot would leave the last request queued for ever.
            await using var app = new Factory(BrokenModelSettings(folder, ("Inference:MaxBatchSize", "3")));
            using var client = app.CreateClient();

            // Twice in a row (repeated failures): each time all three requests of the batch fail with the same clear error.
            foreach (var _ in new[] { 1, 2 })
            {
                var failures = await Task.WhenAll(Enumerable.Range(0, 3).Select(async i =>
                {
                    using var response = await client.PostAsJsonAsync("/v1/generate", Api.Request($"Jesus wept {i}.", maxTokens: 300, model: Broken), ct);
                    return (response.StatusCode, Error: JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error").Clone(),
                        RetryAfter: response.Headers.RetryAfter);
                }));

                Assert.All(failures, f =>
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, f.StatusCode);
                    Assert.Equal("generation_failed", f.Error.GetProperty("code").GetString());
                    Assert.Equal("the model failed while generating", f.Error.GetProperty("message").GetString());
                    Assert.NotNull(f.RetryAfter);
                });
                Assert.Equal("failed", await StatusAsync(client, Broken, ct));
                using var health = await client.GetAsync("/health", ct);
                Assert.Equal("Degraded", await health.Content.ReadAsStringAsync(ct));
            }

            // The three slots came back (MaxBatchSize 3): a request that stays inside the caches runs, the model is ready again.
            var answer = await Api.GenerateAsync(client, Api.Request("Jesus wept.", maxTokens: 8, model: Broken), ct);
            Assert.Equal(8, answer.GetProperty("completionTokens").GetInt32());
            Assert.Equal("ready", await StatusAsync(client, Broken, ct));
            using var healthy = await client.GetAsync("/health", ct);
            Assert.Equal("Healthy", await healthy.Content.ReadAsStringAsync(ct));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_streamed_request_whose_decode_fails_gets_its_tokens_then_an_error_event()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = BrokenModelFolder();
        try
        {
            await using var app = new Factory(BrokenModelSettings(folder));
            using var client = app.CreateClient();

            using var response = await client.SendAsync(Api.StreamRequest(Api.Request("Jesus wept.", maxTokens: 300, model: Broken)),
                HttpCompletionOption.ResponseHeadersRead, ct);
            var events = await Api.ReadEventsAsync(response, ct);

            // The first token comes from the prefill, so the stream has started (200) when the decode step fails.
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("token", events[0].GetProperty("type").GetString());
            var last = events[^1];
            Assert.Equal("error", last.GetProperty("type").GetString());
            Assert.Equal("generation_failed", last.GetProperty("error").GetProperty("code").GetString());
            Assert.DoesNotContain(events, e => e.GetProperty("type").GetString() == "end");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_request_past_its_generation_time_limit_ends_with_504_and_gives_its_slot_back()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = GenAiConfig.Load(DemoModel.Folder);
        var tokenizer = ModelTokenizer.Load(DemoModel.Folder);
        var (session, provider) = SessionFactory.Create(Path.Combine(DemoModel.Folder, config.ModelFile), ["CPU"], 1, NullLogger.Instance);
        var metrics = new InferenceMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
        // Two slots, no end-of-turn: requests run to max_tokens unless stopped.
        using var scheduler = new BatchScheduler("test", provider, new OnnxDecoder(session, config, DemoModel.Padding), tokenizer, [], config.ContextLength,
            2, 16, metrics, NullLogger.Instance);
        var prompt = ChatTemplate.For(tokenizer).Render([new ChatMessage("user", "Praise ye the LORD.")]);
        var parameters = new SamplingParameters(200, 0, 1, 0, null, []);

        // A limit of a millisecond has passed by the time the request is admitted or, at the latest, before its next step.
        var late = Enumerable.Range(0, 2).Select(_ => new GenerationJob(prompt, parameters, ct, timeout: TimeSpan.FromMilliseconds(1))).ToList();
        Assert.True(scheduler.TryEnqueueAll(late));
        var ends = await Task.WhenAll(late.Select(j => LastEventAsync(j, ct)));

        Assert.All(ends, e =>
        {
            var failed = Assert.IsType<GenerationEvent.Failed>(e);
            Assert.Equal((504, "generation_timeout"), (failed.Status, failed.Code));
            Assert.Contains("Inference:GenerationTimeoutSeconds", failed.Message, StringComparison.Ordinal);
        });
        // Both slots are free again: two requests with time to spare run to their max_tokens.
        var onTime = Enumerable.Range(0, 2).Select(_ => new GenerationJob(prompt, parameters with { MaxTokens = 5 }, ct, timeout: TimeSpan.FromMinutes(5))).ToList();
        Assert.True(scheduler.TryEnqueueAll(onTime));
        foreach (var job in onTime)
        {
            Assert.Equal(new GenerationEvent.End("length", prompt.Count, 5), await LastEventAsync(job, ct));
        }

        Assert.True(scheduler.Healthy, "a timed-out request is not a model failure");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("86401")]
    public async Task A_generation_time_limit_out_of_range_fails_the_start(string seconds)
    {
        var error = await StartFailure.OfAsync(new Dictionary<string, string?> { ["Inference:GenerationTimeoutSeconds"] = seconds });

        Assert.Contains("GenerationTimeoutSeconds", error.Message, StringComparison.Ordinal);
    }

    private static async Task<string?> StatusAsync(HttpClient client, string model, CancellationToken ct)
    {
        var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models");
        return models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == model).GetProperty("status").GetString();
    }

    private static async Task<GenerationEvent> LastEventAsync(GenerationJob job, CancellationToken ct)
    {
        GenerationEvent? last = null;
        await foreach (var e in job.Events.ReadAllAsync(ct))
        {
            last = e;
        }

        return last!;
    }

    private sealed class Factory(Dictionary<string, string?> settings) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        }
    }
}
