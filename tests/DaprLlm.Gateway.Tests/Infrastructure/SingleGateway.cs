namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>One gateway replica with fake upstreams; one per test class (xunit class fixture).</summary>
public class SingleGateway : IAsyncLifetime
{
    public GatewayEnvironment Environment { get; } = new();

    public FakeBackend Backend { get; } = new();

    public GatewayNode Node { get; private set; } = null!;

    /// <summary>Settings the subclass adds (limits, policies, version dates).</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Routing:InferenceByRegion:eu"] = "inference-eu",
        ["Routing:InferenceByRegion:us"] = "inference-us",
        ["Chat:Models:0"] = "daprllm-demo",
        ["Chat:Models:1"] = "daprllm-large",
        ["Chat:EmbeddingModels:0"] = "daprllm-embed",

        // The semantic cache has its own fixture (SemanticGateway); elsewhere similar prompts must reach the backend.
        ["SemanticCache:Enabled"] = "false",
        ["ReviewWebhooks:AllowHttp"] = "true",
        ["ReviewWebhooks:AllowPrivateNetworks"] = "true", // the tests' receivers listen on loopback
        ["ReviewWebhooks:FirstRetryDelay"] = "00:00:00.050",
        ["ApiVersions:Versions:v1:DeprecatedAt"] = "2026-01-01T00:00:00Z",
        ["ApiVersions:Versions:v1:SunsetAt"] = "2027-06-30T00:00:00Z",
    };

    protected virtual TimeProvider Time => TimeProvider.System;

    /// <summary>Service replacements the subclass adds after the test defaults.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public string DevKey => Environment.DevKey;

    public HttpClient Client(string? key = null) => Node.Client(key ?? DevKey);

    public HttpClient Admin() => Node.Client(GatewayEnvironment.AdminKey);

    public virtual async ValueTask InitializeAsync()
    {
        await Environment.InitializeAsync();
        await Backend.StartAsync();
        Node = await GatewayNode.StartAsync(Environment, Backend, Time, Settings, ConfigureServices);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (Node is not null)
        {
            await Node.DisposeAsync();
        }

        await Backend.DisposeAsync();
        await Environment.DisposeAsync();
    }

    /// <summary>A fresh tenant (unique id) with one key; returns the key.</summary>
    public async Task<string> CreateTenantKeyAsync(string tier = "pro", string home = "eu", string[]? regions = null, string policy = "window", CancellationToken ct = default) =>
        (await CreateTenantAsync(tier, home, regions, policy, ct)).Key;

    /// <summary>A fresh tenant (unique id) with one key; returns both.</summary>
    public async Task<(string TenantId, string Key)> CreateTenantAsync(string tier = "pro", string home = "eu", string[]? regions = null, string policy = "window", CancellationToken ct = default)
    {
        using var admin = Admin();
        var id = $"t-{Guid.NewGuid():N}"[..20];
        using var created = await admin.PostAsJsonAsync("/admin/tenants", new { id, tier, homeRegion = home, allowedRegions = regions ?? [home], streamingPolicy = policy }, ct);
        created.EnsureSuccessStatusCode();
        using var key = await admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "test" }, ct);
        key.EnsureSuccessStatusCode();
        return (id, (await key.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(ct)).GetProperty("key").GetString()!);
    }
}
