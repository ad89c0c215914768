using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DaprLlm.Inference.Tests;

/// <summary>Start-up behaviour: warm and lazy loading, execution-provider fallback, clear failures for bad models.</summary>
public sealed class ModelLoadingTests
{
    [Fact]
    public async Task Cuda_preference_falls_back_to_cpu_where_cuda_is_absent_and_reports_and_logs_the_provider()
    {
        var ct = TestContext.Current.CancellationToken;
        var logs = new LogCapture();
        // The demo chat model and the embedding model both prefer CUDA (as in appsettings.json), set here explicitly.
        await using var app = Start(new()
        {
            ["Inference:Models:daprllm-demo:ExecutionProviders:0"] = "CUDA",
            ["Inference:Models:daprllm-demo:ExecutionProviders:1"] = "CPU",
            ["Inference:Models:all-minilm-l6-v2:ExecutionProviders:0"] = "CUDA",
            ["Inference:Models:all-minilm-l6-v2:ExecutionProviders:1"] = "CPU",
        }, logs);
        using var client = app.CreateClient();

        var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models").EnumerateArray().ToList();

        var hasGpu = File.Exists("/dev/nvidia0") || File.Exists("/dev/nvidiactl");
        var expected = hasGpu ? "CUDA" : "CPU";
        string ProviderOf(string id) => models.Single(m => m.GetProperty("id").GetString() == id).GetProperty("executionProvider").GetString()!;
        Assert.Equal(expected, ProviderOf("daprllm-demo"));
        Assert.Equal(expected, ProviderOf("all-minilm-l6-v2"));
        var messages = logs.Messages.ToArray();
        Assert.Contains(messages, m => m.StartsWith("Loaded ", StringComparison.Ordinal) && m.Contains("daprllm-kjv-small", StringComparison.Ordinal)
            && m.EndsWith($"on execution provider {expected}", StringComparison.Ordinal));
        Assert.Contains($"Loaded embedding model all-minilm-l6-v2 on execution provider {expected}", messages);
        if (!hasGpu)
        {
            // The fallback is said once per model, as a warning naming CUDA.
            Assert.True(2 == messages.Count(m => m.StartsWith("Execution provider CUDA unavailable", StringComparison.Ordinal)), string.Join("\n", messages));
        }

        var answer = await Api.GenerateAsync(client, Api.Request("Jesus wept.", maxTokens: 4), ct);
        Assert.True(answer.GetProperty("completionTokens").GetInt32() > 0);
    }

    [Fact]
    public async Task Missing_model_folder_fails_the_start_naming_the_path()
    {
        var error = await StartFailure.OfAsync(new Dictionary<string, string?> { ["Inference:Models:daprllm-demo:Path"] = "/nonexistent/model-folder" });

        Assert.Contains("/nonexistent/model-folder", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_model_file_fails_the_start_naming_the_model_and_the_file()
    {
        var folder = Directory.CreateTempSubdirectory("daprllm-no-onnx-").FullName;
        try
        {
            // A folder with its config and tokenizer but no graph: it passes the catalog check, so the load must say it.
            foreach (var file in Directory.GetFiles(DemoModel.Folder).Where(f => Path.GetFileName(f) != "model.onnx"))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }

            using var app = new ConfiguredFactory(new() { ["Inference:Models:daprllm-demo:Path"] = folder });

            var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());

            var load = Assert.IsType<ModelLoadException>(error is AggregateException a ? a.InnerExceptions.Single() : error);
            Assert.Contains("daprllm-demo", load.Message, StringComparison.Ordinal);
            Assert.Contains(Path.Combine(folder, "model.onnx"), load.Message, StringComparison.Ordinal);
            Assert.Contains("does not exist", load.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Corrupt_model_file_fails_the_start_naming_the_model()
    {
        var folder = Directory.CreateTempSubdirectory("daprllm-corrupt-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(DemoModel.Folder))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }

            File.WriteAllBytes(Path.Combine(folder, "model.onnx"), "this is not an onnx graph"u8.ToArray());
            using var app = new ConfiguredFactory(new() { ["Inference:Models:daprllm-demo:Path"] = folder });

            var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());

            var load = Assert.IsType<ModelLoadException>(error is AggregateException a ? a.InnerExceptions.Single() : error);
            Assert.Contains("daprllm-demo", load.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Lazy_model_loads_once_under_concurrent_first_requests()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = new LazyModelAppFactory();
        using var client = app.CreateClient();
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        Assert.Equal("not_loaded", registry.Status(LazyModelAppFactory.LazyModel));
        var loadsBefore = registry.Loads;

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Api.GenerateAsync(client, Api.Request("Praise ye the LORD.", maxTokens: 4, model: LazyModelAppFactory.LazyModel), ct)));

        Assert.All(answers, a => Assert.Equal(LazyModelAppFactory.LazyModel, a.GetProperty("model").GetString()));
        Assert.Equal(loadsBefore + 1, registry.Loads);
        var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models");
        var lazy = models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == LazyModelAppFactory.LazyModel);
        Assert.Equal("ready", lazy.GetProperty("status").GetString());
        Assert.Equal("large", lazy.GetProperty("tier").GetString());
        Assert.Equal("eu", lazy.GetProperty("region").GetString());
    }

    [Fact]
    public async Task Generation_records_genai_latency_token_and_batch_metrics()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = Start(new());
        using var client = app.CreateClient();
        var seen = new HashSet<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == InferenceMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((i, _, _, _) => { lock (seen) { seen.Add(i.Name); } });
        listener.SetMeasurementEventCallback<long>((i, _, _, _) => { lock (seen) { seen.Add(i.Name); } });
        listener.SetMeasurementEventCallback<int>((i, _, _, _) => { lock (seen) { seen.Add(i.Name); } });
        listener.Start();

        await Api.GenerateAsync(client, Api.Request("Jesus wept.", maxTokens: 6, temperature: 1.0, seed: 9), ct);
        listener.RecordObservableInstruments();

        string[] expected =
        [
            "gen_ai.server.request.duration", "gen_ai.server.time_to_first_token", "gen_ai.server.time_per_output_token", "gen_ai.client.token.usage",
            "daprllm.inference.generated_tokens", "daprllm.inference.batch_size", "daprllm.inference.queue_depth",
            "daprllm.inference.kv_cache.occupancy",
        ];
        lock (seen)
        {
            Assert.Superset(expected.ToHashSet(), seen);
        }
    }

    private static ConfiguredFactory Start(Dictionary<string, string?> settings, LogCapture? logs = null) => new(settings, logs);

    private sealed class ConfiguredFactory(Dictionary<string, string?> settings, LogCapture? logs = null) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            if (logs is not null)
            {
                builder.ConfigureServices(services => services.AddSingleton<ILoggerProvider>(logs));
            }
        }
    }

    [Fact]
    public async Task A_model_limited_to_other_regions_is_neither_listed_nor_served_by_this_replica()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = new ResidencyAppFactory();
        using var client = app.CreateClient();

        var models = await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/v1/models", ct);
        var ids = models.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains(InferenceAppFactory.Model, ids);
        Assert.DoesNotContain(ResidencyAppFactory.UsOnlyModel, ids);

        // Before, only the gateway's /v1/models hid it: a direct or routed call ran the us-only model in eu.
        using var response = await client.PostAsJsonAsync("/v1/generate", Api.Request("Praise ye the LORD.", maxTokens: 2, model: ResidencyAppFactory.UsOnlyModel), ct);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }
}
