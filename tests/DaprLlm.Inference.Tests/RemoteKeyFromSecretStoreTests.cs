using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Contracts;
using DaprLlm.Inference.Tests.Infrastructure;

namespace DaprLlm.Inference.Tests;

/// <summary>A real sidecar process with a file secret store named like production's, and the fake OpenAI server.</summary>
public sealed class SecretStoreFixture : IAsyncLifetime
{
    public const string Model = "remote-secret";
    public const string MissingKeyModel = "remote-missing-secret";
    public const string SecretKey = "sk-from-the-secret-store";

    private readonly TempFolder _folder = new("daprllm-inference-secrets");
    private SidecarProcess? _sidecar;

    public FakeOpenAiServer Server { get; private set; } = null!;

    public InferenceAppFactory App { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await FakeOpenAiServer.StartAsync();
        var secrets = _folder.Write("secrets.json", JsonSerializer.Serialize(new Dictionary<string, string> { ["openai-key"] = SecretKey }));
        var components = _folder.Sub("components");
        _folder.Write("components/secretstore.yaml", $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: {DaprComponents.SecretStore}
            spec:
              type: secretstores.local.file
              version: v1
              metadata:
              - name: secretsFile
                value: "{secrets}"
            """);
        // Shared CI machines can be slow to start a process.
        _sidecar = await SidecarProcess.StartAsync(new SidecarSettings("inference", components, _folder.Sub("registry")), TimeSpan.FromSeconds(90));
        var settings = _sidecar.AppEnvironment.ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        settings[$"Inference:Models:{Model}:Provider"] = "openai";
        settings[$"Inference:Models:{Model}:Endpoint"] = Server.Endpoint;
        settings[$"Inference:Models:{Model}:ApiKeySecret"] = "openai-key";
        settings[$"Inference:Models:{MissingKeyModel}:Provider"] = "openai";
        settings[$"Inference:Models:{MissingKeyModel}:Endpoint"] = Server.Endpoint;
        settings[$"Inference:Models:{MissingKeyModel}:ApiKeySecret"] = "no-such-key";
        settings[$"Inference:Models:{MissingKeyModel}:Warm"] = "false";
        App = new SettingsAppFactory(settings);
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        if (_sidecar is not null)
        {
            await _sidecar.DisposeAsync();
        }

        await Server.DisposeAsync();
        _folder.Dispose();
    }

    private sealed class SettingsAppFactory(Dictionary<string, string?> settings) : InferenceAppFactory
    {
        protected override IDictionary<string, string?> Settings => settings;
    }
}

/// <summary>A remote model's API key read from the Dapr secret store through the real sidecar.</summary>
public sealed class RemoteKeyFromSecretStoreTests(SecretStoreFixture fixture) : IClassFixture<SecretStoreFixture>
{
    [Fact]
    public async Task Remote_model_calls_the_endpoint_with_the_key_from_the_secret_store()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = fixture.App.CreateClient();

        var answer = await Api.GenerateAsync(client, Api.Request("Say it.", model: SecretStoreFixture.Model), ct);

        Assert.Equal(FakeOpenAiServer.Reply, answer.GetProperty("text").GetString());
        Assert.Contains($"Bearer {SecretStoreFixture.SecretKey}", fixture.Server.Authorizations);
    }

    [Fact]
    public async Task Missing_secret_fails_that_model_only_with_503_and_status_failed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = fixture.App.CreateClient();

        using var response = await client.PostAsJsonAsync("/v1/generate", Api.Request("Say it.", model: SecretStoreFixture.MissingKeyModel), ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");
        Assert.Equal("model_unavailable", error.GetProperty("code").GetString());
        var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models");
        var failed = models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == SecretStoreFixture.MissingKeyModel);
        Assert.Equal("failed", failed.GetProperty("status").GetString());
    }
}
