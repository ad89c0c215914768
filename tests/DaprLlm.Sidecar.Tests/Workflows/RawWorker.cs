using Dapr.DurableTask.Protobuf;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>
/// A sidecar on a state.sqlite actor store, and one work-item stream the test answers by hand with the SDK's gRPC
/// client (for protocol details the SDK worker hides, and for faults injected into the store between steps).
/// </summary>
public sealed class RawWorker : IAsyncDisposable
{
    private readonly string _appId;
    private readonly TempFolder _folder;
    private readonly SidecarProcess _sidecar;
    private readonly GrpcChannel _channel;
    private readonly CancellationTokenSource _cts;
    private AsyncServerStreamingCall<WorkItem> _stream;

    private RawWorker(string appId, TempFolder folder, SidecarProcess sidecar, string database)
    {
        _appId = appId;
        _folder = folder;
        _sidecar = sidecar;
        Database = database;
        _channel = GrpcChannel.ForAddress(sidecar.GrpcEndpoint);
        Hub = new TaskHubSidecarService.TaskHubSidecarServiceClient(_channel);
        _cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        _cts.CancelAfter(TimeSpan.FromSeconds(90));
        _stream = Hub.GetWorkItems(new GetWorkItemsRequest(), cancellationToken: _cts.Token);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public TaskHubSidecarService.TaskHubSidecarServiceClient Hub { get; }

    /// <summary>The SQLite file of the store (see <see cref="SqliteFaults"/>).</summary>
    public string Database { get; }

    /// <summary>Starts the sidecar; <paramref name="seed"/>, when given, first writes to the (new) database file.</summary>
    public static async Task<RawWorker> StartAsync(string appId, Func<string, Task>? seed = null)
    {
        var folder = new TempFolder("daprllm-wf-raw");
        try
        {
            var database = Path.Combine(folder.Path, "workflows.db");
            if (seed is not null)
            {
                await seed(database);
            }

            folder.Write("components/wfstore.yaml", $"""
                apiVersion: dapr.io/v1alpha1
                kind: Component
                metadata:
                  name: wfstore
                spec:
                  type: state.sqlite
                  version: v1
                  metadata:
                  - name: connectionString
                    value: "{database}"
                  - name: actorStateStore
                    value: "true"
                """);
            var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId, folder.Sub("components"), folder.Sub("registry")), WorkflowHost.StartTimeout);
            return new RawWorker(appId, folder, sidecar, database);
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>The key the sidecar keeps an instance under (daprd's layout).</summary>
    public string InstanceKey(string instanceId) => $"{_appId}||dapr.internal.default.{_appId}.workflow||{instanceId}||state";

    /// <summary>Kills the sidecar (as a crash would), starts it again on the same store and opens a new work-item stream.</summary>
    public async Task RestartSidecarAsync()
    {
        await _sidecar.KillAsync();
        _stream.Dispose();
        await _sidecar.RestartAsync(WorkflowHost.StartTimeout);
        _stream = Hub.GetWorkItems(new GetWorkItemsRequest(), cancellationToken: _cts.Token);
    }

    /// <summary>The key of the app's instance index (the ids recovery and listing see).</summary>
    public string IndexKey => $"{_appId}||dapr.internal.default.{_appId}.workflow||index";

    /// <summary>The next work item, or a failure naming what did not come within the deadline.</summary>
    public async Task<WorkItem> NextAsync()
    {
        var next = _stream.ResponseStream.MoveNext(_cts.Token);
        var winner = await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(15), Ct));
        Assert.True(winner == next, $"no work item came within 15 s; sidecar output:{Environment.NewLine}{_sidecar.Output}");
        Assert.True(await next, "the work-item stream ended");
        return _stream.ResponseStream.Current;
    }

    public async Task<GetInstanceResponse> WaitForCompletionAsync(string instanceId) =>
        await Hub.WaitForInstanceCompletionAsync(new GetInstanceRequest { InstanceId = instanceId, GetInputsAndOutputs = true }, cancellationToken: _cts.Token);

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _stream.Dispose();
        _channel.Dispose();
        _cts.Dispose();
        await _sidecar.DisposeAsync();
        _folder.Dispose();
    }
}
