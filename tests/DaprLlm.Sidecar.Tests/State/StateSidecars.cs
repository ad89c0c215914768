using Dapr.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.State;

/// <summary>
/// One real redis-server and three real sidecars, each with one store named "statestore":
/// state.in-memory, state.redis and state.sqlite. Tests isolate themselves by unique keys.
/// </summary>
public sealed class StateSidecars : IAsyncLifetime
{
    // CI machines are shared and loaded: a sidecar may take far longer than usual to start.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly TempFolder _folder = new("daprllm-state");
    private readonly Dictionary<string, SidecarProcess> _sidecars = new(StringComparer.Ordinal);

    public RedisServer Redis { get; } = new();

    public string SqliteFile => Path.Combine(_folder.Path, "state.db");

    public SidecarProcess this[string kind] => _sidecars[kind];

    public static string AppId(string kind) => $"state-{kind}-app";

    public static DaprClient Client(SidecarProcess sidecar) =>
        new DaprClientBuilder().UseHttpEndpoint(sidecar.HttpEndpoint).UseGrpcEndpoint(sidecar.GrpcEndpoint).Build();

    public static string StoreYaml(string kind, string redisAddress, string sqliteFile, string name = "statestore", string extra = "") => kind switch
    {
        "in-memory" => $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: {name}
            spec:
              type: state.in-memory
              version: v1
              metadata:
            {extra}
            """,
        "redis" => $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: {name}
            spec:
              type: state.redis
              version: v1
              metadata:
              - name: redisHost
                value: "{redisAddress}"
              - name: redisPassword
                value: ""
            {extra}
            """,
        "sqlite" => $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: {name}
            spec:
              type: state.sqlite
              version: v1
              metadata:
              - name: connectionString
                value: "file:{sqliteFile}"
            {extra}
            """,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public async ValueTask InitializeAsync()
    {
        await Redis.InitializeAsync();
        var registry = _folder.Sub("registry");
        var starts = new[] { "in-memory", "redis", "sqlite" }.Select(async kind =>
        {
            var components = _folder.Sub($"components-{kind}");
            File.WriteAllText(Path.Combine(components, "statestore.yaml"), StoreYaml(kind, Redis.Address, SqliteFile));
            var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(AppId(kind), components, registry), StartTimeout);
            lock (_sidecars)
            {
                // Kept as soon as started, so DisposeAsync stops it even when another one fails to start.
                _sidecars[kind] = sidecar;
            }
        }).ToList();
        await Task.WhenAll(starts);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sidecar in _sidecars.Values)
        {
            await sidecar.DisposeAsync();
        }

        await Redis.DisposeAsync();
        _folder.Dispose();
    }
}
