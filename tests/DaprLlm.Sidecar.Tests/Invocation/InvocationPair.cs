using Dapr.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Invocation;

/// <summary>
/// Two real apps, each with its own real sidecar process, sharing one registry folder: "caller" and "target".
/// Optional resources (a Resiliency file) go to both sidecars' resources folder.
/// </summary>
public sealed class InvocationPair : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly List<IAsyncDisposable> _owned = [];

    private InvocationPair(TempFolder folder) => Folder = folder;

    public TempFolder Folder { get; }

    public TargetState Target { get; } = new();

    public TargetState Caller { get; } = new();

    public SidecarProcess CallerSidecar { get; private set; } = null!;

    public SidecarProcess TargetSidecar { get; private set; } = null!;

    public TestApp TargetApp { get; private set; } = null!;

    public TestApp CallerApp { get; private set; } = null!;

    public static async Task<InvocationPair> StartAsync(
        string? resources = null,
        Func<SidecarSettings, SidecarSettings>? callerSettings = null,
        Func<SidecarSettings, SidecarSettings>? targetSettings = null)
    {
        var pair = new InvocationPair(new TempFolder("daprllm-invoke"));
        try
        {
            var components = pair.Folder.Sub("components");
            if (resources is not null)
            {
                pair.Folder.Write("components/resources.yaml", resources);
            }

            var registry = pair.Folder.Sub("registry");
            var targetPort = Ports.GetFree();
            var callerPort = Ports.GetFree();
            // Two sidecars start at once, often beside other test classes on a 2-core machine: allow for a slow start.
            var targetTask = SidecarProcess.StartAsync((targetSettings ?? (s => s))(new SidecarSettings("target", components, registry) { AppPort = targetPort }), StartTimeout);
            var callerTask = SidecarProcess.StartAsync((callerSettings ?? (s => s))(new SidecarSettings("caller", components, registry) { AppPort = callerPort }), StartTimeout);
            try
            {
                await Task.WhenAll(targetTask, callerTask);
            }
            finally
            {
                if (targetTask.IsCompletedSuccessfully)
                {
                    pair.TargetSidecar = targetTask.Result;
                    pair._owned.Add(pair.TargetSidecar);
                }

                if (callerTask.IsCompletedSuccessfully)
                {
                    pair.CallerSidecar = callerTask.Result;
                    pair._owned.Add(pair.CallerSidecar);
                }
            }

            // The target writes header values as UTF-8, as Go or Python apps do (Kestrel's default refuses non-ASCII).
            pair.TargetApp = TestApp.Create(targetPort, pair.TargetSidecar.AppEnvironment,
                builder => builder.WebHost.ConfigureKestrel(k => k.ResponseHeaderEncodingSelector = _ => System.Text.Encoding.UTF8),
                app => TargetEndpoints.Map(app, pair.Target));
            pair._owned.Add(pair.TargetApp);
            await pair.TargetApp.StartAsync();
            pair.CallerApp = TestApp.Create(callerPort, pair.CallerSidecar.AppEnvironment, _ => { }, app => TargetEndpoints.Map(app, pair.Caller));
            pair._owned.Add(pair.CallerApp);
            await pair.CallerApp.StartAsync();
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    /// <summary>A DaprClient as the caller app builds it (the unchanged SDK, pointed at the caller's sidecar).</summary>
    public DaprClient CallerClient(string? apiToken = null)
    {
        var builder = new DaprClientBuilder().UseHttpEndpoint(CallerSidecar.HttpEndpoint).UseGrpcEndpoint(CallerSidecar.GrpcEndpoint);
        if (apiToken is not null)
        {
            builder.UseDaprApiToken(apiToken);
        }

        return builder.Build();
    }

    /// <summary>The SDK's HttpClient for invoking <paramref name="appId"/> through the caller's sidecar.</summary>
    public HttpClient InvokeClient(string appId = "target", string? apiToken = null) =>
        DaprClient.CreateInvokeHttpClient(appId, CallerSidecar.HttpEndpoint, apiToken);

    public string Diagnostics => $"--- caller sidecar ---{Environment.NewLine}{CallerSidecar?.Output}{Environment.NewLine}--- target sidecar ---{Environment.NewLine}{TargetSidecar?.Output}";

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        Folder.Dispose();
    }
}
