using Dapr.Workflow;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>Which actor state store the sidecar under test keeps workflow state in.</summary>
public enum WorkflowStoreKind
{
    InMemory,
    Redis,
    Sqlite,
}

/// <summary>
/// A real sidecar plus a real app hosting the unchanged Dapr.Workflow SDK worker, and a workflow client that
/// lives outside the app (so it keeps working while the app is stopped). Either can be killed and restarted.
/// </summary>
public sealed class WorkflowHost : IAsyncDisposable
{
    private readonly TempFolder _folder;
    private readonly ServiceProvider _clientServices;

    private WorkflowHost(TempFolder folder, SidecarProcess sidecar, TestApp app, ServiceProvider clientServices, WorkflowProbe probe)
    {
        _folder = folder;
        Sidecar = sidecar;
        App = app;
        _clientServices = clientServices;
        Probe = probe;
        Client = clientServices.GetRequiredService<DaprWorkflowClient>();
    }

    /// <summary>Generous: CI machines shared by several builds can take long to start a process; passing runs never wait for it.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    public SidecarProcess Sidecar { get; }

    /// <summary>Starts the killed sidecar again on the same ports and waits until it is healthy.</summary>
    public Task RestartSidecarAsync() => Sidecar.RestartAsync(StartTimeout);

    public TestApp App { get; }

    public DaprWorkflowClient Client { get; }

    /// <summary>Shared with the app's activities; survives app restarts.</summary>
    public WorkflowProbe Probe { get; }

    public static async Task<WorkflowHost> StartAsync(string appId, Action<WorkflowRuntimeOptions> register,
        WorkflowStoreKind store = WorkflowStoreKind.InMemory, string? redisAddress = null, TempFolder? shared = null,
        WorkflowProbe? probe = null, IReadOnlyDictionary<string, string>? sidecarEnvironment = null)
    {
        var folder = new TempFolder("daprllm-wf");
        try
        {
            var components = folder.Sub("components");
            folder.Write("components/wfstore.yaml", ComponentYaml(store, redisAddress, shared ?? folder));
            var appPort = Ports.GetFree();
            var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId, components, (shared ?? folder).Sub("registry"))
            {
                AppPort = appPort,
                Environment = sidecarEnvironment ?? new Dictionary<string, string>(),
            }, StartTimeout);
            probe ??= new WorkflowProbe();
            var app = TestApp.Create(appPort, sidecar.AppEnvironment, builder =>
            {
                builder.Services.AddSingleton(probe);
                builder.Services.AddDaprWorkflow(register);
            }, _ => { });
            await app.StartAsync();

            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(sidecar.AppEnvironment.Select(kv => KeyValuePair.Create(kv.Key, (string?)kv.Value)))
                .Build();
            var services = new ServiceCollection()
                .AddLogging()
                .AddSingleton<IConfiguration>(configuration);
            services.AddDaprWorkflow(_ => { });
            return new WorkflowHost(folder, sidecar, app, services.BuildServiceProvider(), probe);
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    private static string ComponentYaml(WorkflowStoreKind store, string? redisAddress, TempFolder folder) => store switch
    {
        WorkflowStoreKind.Redis => $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: wfstore
            spec:
              type: state.redis
              version: v1
              metadata:
              - name: redisHost
                value: "{redisAddress}"
              - name: actorStateStore
                value: "true"
            """,
        WorkflowStoreKind.Sqlite => $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: wfstore
            spec:
              type: state.sqlite
              version: v1
              metadata:
              - name: connectionString
                value: "{Path.Combine(folder.Path, "workflows.db")}"
              - name: actorStateStore
                value: "true"
            """,
        _ => """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: wfstore
            spec:
              type: state.in-memory
              version: v1
              metadata:
              - name: actorStateStore
                value: "true"
            """,
    };

    /// <summary>Runs a workflow to its end and returns its final state.</summary>
    public async Task<WorkflowState> RunAsync(string workflow, string instanceId, object? input, TimeSpan? timeout = null)
    {
        await Client.ScheduleNewWorkflowAsync(workflow, instanceId, input);
        return await WaitForCompletionAsync(instanceId, timeout);
    }

    public async Task<WorkflowState> WaitForCompletionAsync(string instanceId, TimeSpan? timeout = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            return await Client.WaitForWorkflowCompletionAsync(instanceId, getInputsAndOutputs: true, cts.Token);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"workflow '{instanceId}' did not finish in time; sidecar output:{Environment.NewLine}{Sidecar.Output}");
        }
    }

    /// <summary>Polls the instance until its status matches (no fixed sleeps).</summary>
    public Task WaitForStatusAsync(string instanceId, WorkflowRuntimeStatus status, TimeSpan? timeout = null) =>
        Deadline.WaitUntilAsync(async () =>
        {
            var state = await Client.GetWorkflowStateAsync(instanceId, getInputsAndOutputs: false, TestContext.Current.CancellationToken);
            return state?.Exists == true && state.RuntimeStatus == status;
        }, timeout ?? TimeSpan.FromSeconds(40), $"workflow '{instanceId}' to be {status}");

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await _clientServices.DisposeAsync();
        await Sidecar.DisposeAsync();
        _folder.Dispose();
    }
}
