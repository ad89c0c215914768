using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DaprLlm.Inference.Tests;

/// <summary>Wrong catalog entries stop the start naming the setting; a lazy model that cannot load fails alone.</summary>
public sealed class CatalogValidationTests
{
    private const string Entry = "Inference:Models:bad";

    public static TheoryData<string, string, string> BadEntries { get; } = new()
    {
        { "Kind", "chatbot", $"{Entry}:Kind must be chat or embedding" },
        { "Provider", "vllm", $"{Entry}:Provider 'vllm' is not supported" },
        { "Tier", "medium", $"{Entry}:Tier must be small or large" },
        { "ExecutionProviders:0", "ROCm", $"{Entry}:ExecutionProviders must list CUDA and/or CPU" },
        { "ContextLength", "-5", $"{Entry}:ContextLength must not be negative" },
        { "Path", "/nonexistent/bad-model", $"{Entry}:Path '/nonexistent/bad-model' is not a model folder" },
    };

    [Theory]
    [MemberData(nameof(BadEntries))]
    public async Task A_wrong_catalog_entry_fails_the_start_naming_the_setting(string key, string value, string expected)
    {
        var error = await StartFailure.OfAsync(new Dictionary<string, string?>
        {
            [$"{Entry}:Path"] = "models/daprllm-kjv-small",
            [$"{Entry}:Warm"] = "false",
            [$"{Entry}:{key}"] = value,
        });

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> BadEmbeddingEntries { get; } = new()
    {
        { "Path", "models/daprllm-kjv-small", $"{Entry}:Path 'models/daprllm-kjv-small' is not an ONNX file" },
        { "MaxTokens", "513", $"{Entry}:MaxTokens must be between 3 and 512" },
        { "Pooling", "max", $"{Entry}:Pooling must be mean or mean-max, not 'max'" },
    };

    [Theory]
    [MemberData(nameof(BadEmbeddingEntries))]
    public async Task A_wrong_embedding_entry_fails_the_start_naming_the_setting(string key, string value, string expected)
    {
        var error = await StartFailure.OfAsync(new Dictionary<string, string?>
        {
            [$"{Entry}:Kind"] = "embedding",
            [$"{Entry}:Warm"] = "false",
            [$"{Entry}:{key}"] = value,
        });

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configured_execution_providers_keep_their_order_and_none_configured_means_cpu()
    {
        using var app = new Factory(new()
        {
            [$"{Entry}:Path"] = "models/daprllm-kjv-small",
            [$"{Entry}:Warm"] = "false",
            [$"{Entry}:ExecutionProviders:0"] = "CUDA",
            [$"{Entry}:ExecutionProviders:1"] = "CPU",
            ["Inference:Models:plain:Path"] = "models/daprllm-kjv-small",
            ["Inference:Models:plain:Warm"] = "false",
        });
        using var client = app.CreateClient();

        var models = app.Services.GetRequiredService<IOptions<InferenceOptions>>().Value.Models;

        // A configured list replaces the default, never extends it (CUDA must be tried first, not after CPU).
        Assert.Equal(["CUDA", "CPU"], models["bad"].ProviderPreference);
        Assert.Equal(["CUDA", "CPU"], models["daprllm-demo"].ProviderPreference);
        Assert.Equal(["CPU"], models["plain"].ProviderPreference);
    }

    [Fact]
    public async Task A_remote_entry_without_an_http_endpoint_fails_the_start()
    {
        var error = await StartFailure.OfAsync(new Dictionary<string, string?> { [$"{Entry}:Provider"] = "openai", [$"{Entry}:Endpoint"] = "ftp://example.org/v1", [$"{Entry}:Warm"] = "false" });

        Assert.Contains($"{Entry}:Endpoint 'ftp://example.org/v1' must be an absolute http(s) URL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lazy_model_that_cannot_load_answers_503_and_is_reported_failed_while_the_others_serve()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = Directory.CreateTempSubdirectory("daprllm-lazy-corrupt-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(DemoModel.Folder))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }

            File.WriteAllBytes(Path.Combine(folder, "model.onnx"), "not an onnx graph"u8.ToArray());
            await using var app = new Factory(new() { [$"{Entry}:Path"] = folder, [$"{Entry}:Warm"] = "false", [$"{Entry}:ExecutionProviders:0"] = "CPU" });
            using var client = app.CreateClient();

            using var response = await client.PostAsJsonAsync("/v1/generate", Api.Request("Jesus wept.", maxTokens: 4, model: "bad"), ct);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");
            Assert.Equal("model_unavailable", error.GetProperty("code").GetString());
            var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models");
            Assert.Equal("failed", models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == "bad").GetProperty("status").GetString());
            var health = await client.GetStringAsync("/health", ct);
            Assert.Contains("Degraded", health, StringComparison.Ordinal);
            var answer = await Api.GenerateAsync(client, Api.Request("Jesus wept.", maxTokens: 4), ct);
            Assert.True(answer.GetProperty("completionTokens").GetInt32() > 0);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
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
