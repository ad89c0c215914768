using Microsoft.Extensions.Time.Testing;

namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>
/// Three gateway replicas (app id "gateway", each with its own sidecar) sharing Redis and one fake clock frozen
/// early in a minute, so a test never straddles two quota windows.
/// </summary>
public sealed class ThreeGateways : IAsyncLifetime
{
    public GatewayEnvironment Environment { get; } = new();

    public FakeBackend Backend { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 2, 10, 0, 5, TimeSpan.Zero));

    public List<GatewayNode> Nodes { get; } = [];

    public static readonly Dictionary<string, string?> Limits = new()
    {
        // free: the request limit binds. pro: the token limit binds. enterprise: nothing binds (settlement tests).
        ["Quotas:Tiers:free:RequestsPerMinute"] = "30",
        ["Quotas:Tiers:free:BurstRequests"] = "6",
        ["Quotas:Tiers:free:TokensPerMinute"] = "1000000",
        ["Quotas:Tiers:free:MaxConcurrentRequests"] = "1000",
        ["Quotas:Tiers:pro:RequestsPerMinute"] = "10000",
        ["Quotas:Tiers:pro:TokensPerMinute"] = "5000",
        ["Quotas:Tiers:pro:BurstTokens"] = "1000",
        ["Quotas:Tiers:pro:MaxConcurrentRequests"] = "1000",
        ["Quotas:IdleReturnAfter"] = "00:00:02",
        ["Routing:InferenceByRegion:eu"] = "inference-eu",
        ["Routing:InferenceByRegion:us"] = "inference-us",
    };

    public async ValueTask InitializeAsync()
    {
        await Environment.InitializeAsync();
        await Backend.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            Nodes.Add(await GatewayNode.StartAsync(Environment, Backend, Time, Limits));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Backend.DisposeAsync();
        await Environment.DisposeAsync();
    }

    public async Task<string> CreateTenantKeyAsync(string tier, CancellationToken ct)
    {
        using var admin = Nodes[0].Client(GatewayEnvironment.AdminKey);
        var id = $"q-{Guid.NewGuid():N}"[..20];
        using var created = await admin.PostAsJsonAsync("/admin/tenants", new { id, tier, homeRegion = "eu", allowedRegions = new[] { "eu" }, streamingPolicy = "async" }, ct);
        created.EnsureSuccessStatusCode();
        using var key = await admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "q" }, ct);
        key.EnsureSuccessStatusCode();
        return (await key.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(ct)).GetProperty("key").GetString()!;
    }
}
