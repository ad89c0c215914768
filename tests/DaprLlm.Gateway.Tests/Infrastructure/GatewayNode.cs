using System.Net.Http.Headers;
using DaprLlm.Gateway.Upstream;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;

namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>
/// One gateway replica: the real gateway (its Program) on a real loopback port with its own real sidecar process.
/// Replicas of one test class share Redis (state, actors, pub/sub) and a sidecar registry, like replicas of an app id.
/// </summary>
public sealed class GatewayNode : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;

    private GatewayNode(SidecarProcess sidecar, WebApplicationFactory<Program> factory, int port)
    {
        Sidecar = sidecar;
        _factory = factory;
        Port = port;
    }

    public SidecarProcess Sidecar { get; }

    public int Port { get; }

    public string BaseAddress => $"http://127.0.0.1:{Port}";

    public IServiceProvider Services => _factory.Services;

    /// <param name="services">Service replacements after the test defaults (e.g. a fault-injecting dependency).</param>
    /// <param name="sidecarLateBy">When set, the gateway runs this long before its sidecar comes up (as when an app wins the start race).</param>
    public static async Task<GatewayNode> StartAsync(GatewayEnvironment env, FakeBackend backend, TimeProvider time, IReadOnlyDictionary<string, string?> settings,
        Action<IServiceCollection>? services = null, TimeSpan? sidecarLateBy = null)
    {
        var port = Ports.GetFree();
        var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("gateway", env.Components, env.Registry) { AppPort = port, AppApiToken = env.AppToken });
        if (sidecarLateBy is not null)
        {
            // Down, on the ports the gateway is given, until the gateway has run for sidecarLateBy.
            await sidecar.KillAsync();
        }

        var all = new Dictionary<string, string?>(sidecar.AppEnvironment.Select(kv => KeyValuePair.Create(kv.Key, (string?)kv.Value)))
        {
            ["DAPRLLM_DEV_API_KEY"] = env.DevKey,
            // As the AppHost runs it: actors and events reach the gateway only with its sidecar's app token.
            ["APP_API_TOKEN"] = env.AppToken,
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft"] = "Warning",
            ["Quotas:FlushInterval"] = "00:00:00.200",
            // Each node is a replica with its own durable outbox file (the environment's folder goes with it).
            ["Outbox:Directory"] = Path.Combine(Path.GetDirectoryName(env.Components)!, $"outbox-{port}"),
        };
        foreach (var (k, v) in settings)
        {
            all[k] = v;
        }

        var logs = new LogBuffer();
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Development");
            web.ConfigureLogging(l => l.ClearProviders().AddProvider(logs));
            foreach (var (k, v) in all)
            {
                web.UseSetting(k, v);
            }

            web.ConfigureAppConfiguration(c => c.AddInMemoryCollection(all));
            web.ConfigureTestServices(collection =>
            {
                collection.AddSingleton<IUpstreamChannels>(new FakeChannels(backend));
                collection.AddSingleton(time);
                services?.Invoke(collection);
            });
        });
        factory.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        var node = new GatewayNode(sidecar, factory, port) { Logs = logs };
        try
        {
            factory.StartServer();
            if (sidecarLateBy is { } late)
            {
                await Task.Delay(late);
                await sidecar.RestartAsync();
            }

            using var http = new HttpClient();
            await Deadline.WaitUntilAsync(async () =>
            {
                using var health = await http.GetAsync($"{node.BaseAddress}/health");
                return health.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(60), "the gateway to be healthy (tenants initialised)");
        }
        catch (Exception e)
        {
            await node.DisposeAsync();
            throw new InvalidOperationException($"gateway did not start: {e.Message}\n--- gateway log ---\n{logs}\n--- sidecar ---\n{sidecar.Output}", e);
        }

        return node;
    }

    public LogBuffer Logs { get; private init; } = new();

    public HttpClient Client(string? apiKey)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseAddress) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await Sidecar.DisposeAsync();
    }
}

/// <summary>Redis, the component folder (Redis state/actors and pub/sub, a file secret store) and the sidecar registry of one test class.</summary>
public sealed class GatewayEnvironment : IAsyncLifetime
{
    public const string AdminKey = "test-admin-key-0123456789";

    private readonly TempFolder _folder = new("daprllm-gateway-test");

    public RedisServer Redis { get; } = new();

    public string Components => _folder.Sub("components");

    public string Registry => _folder.Sub("registry");

    /// <summary>The development key the gateway seeds (DAPRLLM_DEV_API_KEY), unique per environment.</summary>
    public string DevKey { get; } = $"dev-test-key-{Guid.NewGuid():N}";

    /// <summary>The app token its sidecars send and its gateways require on their Dapr routes (APP_API_TOKEN).</summary>
    public string AppToken { get; } = $"app-token-{Guid.NewGuid():N}";

    public async ValueTask InitializeAsync()
    {
        await Redis.InitializeAsync();
        var secrets = _folder.Write("secrets.json", System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
        {
            [DaprLlm.Contracts.SecretNames.GatewayApiKeyPepper] = "test-pepper",
            [DaprLlm.Contracts.SecretNames.GatewayAdminKey] = AdminKey,
        }));
        _folder.Write("components/statestore.yaml", DaprLlm.Sidecar.Tests.Infrastructure.ComponentYaml.RedisState(Redis.Address, actorStateStore: true));
        _folder.Write("components/pubsub.yaml", DaprLlm.Sidecar.Tests.Infrastructure.ComponentYaml.RedisPubSub(Redis.Address));
        // As components/local: the same Redis read with a consumer group per sidecar, so every replica gets subject.erased.
        _folder.Write("components/pubsub-broadcast.yaml", DaprLlm.Sidecar.Tests.Infrastructure.ComponentYaml.Component(
            DaprLlm.Contracts.DaprComponents.PubSubBroadcast, "pubsub.redis", ("redisHost", Redis.Address), ("consumerID", "{uuid}")));
        _folder.Write("components/secretstore.yaml", DaprLlm.Sidecar.Tests.Infrastructure.ComponentYaml.FileSecrets(secrets));
    }

    public async ValueTask DisposeAsync()
    {
        await Redis.DisposeAsync();
        _folder.Dispose();
    }
}
