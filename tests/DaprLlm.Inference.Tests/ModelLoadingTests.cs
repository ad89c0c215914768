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
using Microsoft.Extensions.Options;

namespace DaprLlm.Inference.Tests;

/// <summary>Start-up behaviour: warm and lazy loading, execution-provider fallback, clear failures for bad models.</summary>
public sealed class ModelLoadingTests
{
    [Fact]
    public async Task Cuda_preference_falls_back_to_cpu_where_cuda_is_absent_and_reports_the_provider()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = Start(new() { ["Inference:Models:daprllm-demo:ExecutionProviders:0"] = "CUDA", ["Inference:Models:daprllm-demo:ExecutionProviders:1"] = "CPU" });
        using var client = app.CreateClient();

        var model = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models")[0];

        var hasGpu = File.Exists("/dev/nvidia0") || File.Exists("/dev/nvidiactl");
        Assert.Equal(hasGpu ? "CUDA" : "CPU", model.GetProperty("executionProvider").GetString());
        var answer = await Api.GenerateAsync(client, Api.Request("Jesus wept.", maxTokens: 4), ct);
        Assert.True(answer.GetProperty("completionTokens").GetInt32() > 0);
    }

    [Fact]
    public void Missing_model_folder_fails_the_start_naming_the_path()
    {
        using var app = new ConfiguredFactory(new() { ["Inference:Models:daprllm-demo:Path"] = "/nonexistent/model-folder" });

        var error = Assert.ThrowsAny<OptionsValidationException>(() => app.CreateClient());

        Assert.Contains("/nonexistent/model-folder", error.Message, StringComparison.Ordinal);
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

    private static ConfiguredFactory Start(Dictionary<string, string?> settings) => new(settings);

    private sealed class ConfiguredFactory(Dictionary<string, string?> settings) : WebApplicationFactory<Program>
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
