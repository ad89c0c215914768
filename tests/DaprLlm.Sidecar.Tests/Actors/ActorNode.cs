using Dapr.Actors;
using Dapr.Actors.Client;
using Dapr.Actors.Runtime;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>Options of the test actor app, as the SDK's ActorRuntimeOptions.</summary>
public sealed record ActorAppSettings(TimeSpan IdleTimeout, TimeSpan ScanInterval, bool Reentrancy = false)
{
    public static ActorAppSettings Default { get; } = new(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(1));
}

/// <summary>
/// One actor host: a real sidecar process plus a test app using the unchanged Dapr.Actors.AspNetCore runtime
/// (AddActors + MapActorsHandlers). Both can be stopped and restarted on the same ports.
/// </summary>
public sealed class ActorNode : IAsyncDisposable
{
    private ActorNode(string name, SidecarProcess sidecar, TestApp app)
    {
        Name = name;
        Sidecar = sidecar;
        App = app;
    }

    public string Name { get; }

    public SidecarProcess Sidecar { get; }

    public TestApp App { get; }

    /// <param name="sidecarEnvironment">Extra environment of the sidecar process (DaprLlm__... settings).</param>
    public static async Task<ActorNode> StartAsync(string name, string appId, string components, string registry, ActorProbe probe, ActorAppSettings settings,
        IReadOnlyDictionary<string, string>? sidecarEnvironment = null)
    {
        var appPort = Ports.GetFree();
        var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId, components, registry)
        {
            AppPort = appPort,
            Environment = sidecarEnvironment ?? new Dictionary<string, string>(),
        });
        var app = TestApp.Create(appPort, sidecar.AppEnvironment, builder =>
        {
            builder.Services.AddSingleton(probe);
            builder.Services.AddSingleton(new ActorHostName(name));
            builder.Services.AddActors(o =>
            {
                o.Actors.RegisterActor<CounterActor>();
                o.ActorIdleTimeout = settings.IdleTimeout;
                o.ActorScanInterval = settings.ScanInterval;
                o.HttpEndpoint = sidecar.HttpEndpoint;
                o.ReentrancyConfig = new ActorReentrancyConfig { Enabled = settings.Reentrancy, MaxStackDepth = 8 };
            });
        }, web => web.MapActorsHandlers());
        var node = new ActorNode(name, sidecar, app);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }

        return node;
    }

    /// <summary>A remoting proxy that calls through this node's sidecar.</summary>
    public ICounterActor Proxy(string actorId) =>
        ActorProxy.Create<ICounterActor>(new ActorId(actorId), nameof(CounterActor), Options(Sidecar));

    public static ActorProxyOptions Options(SidecarProcess sidecar) => new() { HttpEndpoint = sidecar.HttpEndpoint, RequestTimeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Sidecar.DisposeAsync();
    }
}
