using Dapr.DurableTask.Protobuf;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>
/// A worker's answer that the store fails to write is not lost: once the store works again, the work is handed
/// out again and the workflow goes on. The test plays the worker with the SDK's gRPC client, on state.sqlite,
/// and makes the instance's writes fail with a trigger.
/// </summary>
public sealed class WorkflowStoreFailureTests
{
    private const string AppId = "wf-store-failure";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_turn_whose_result_could_not_be_stored_is_handed_to_the_worker_again()
    {
        await using var rig = await RawWorker.StartAsync();
        var id = $"turn-{Guid.NewGuid():N}";
        await rig.Hub.StartInstanceAsync(new CreateInstanceRequest { InstanceId = id, Name = "W", Input = "\"in\"" }, cancellationToken: Ct);
        var first = await rig.NextAsync();

        await using (await SqliteFaults.FailWritesAsync(rig.Database, rig.InstanceKey(id), SqliteFault.Error))
        {
            await Assert.ThrowsAsync<RpcException>(() => rig.Hub.CompleteWorkflowTaskAsync(Done(id, first.CompletionToken), cancellationToken: Ct).ResponseAsync);
        }

        var again = await rig.NextAsync();
        await rig.Hub.CompleteWorkflowTaskAsync(Done(id, again.CompletionToken), cancellationToken: Ct);
        var state = await rig.WaitForCompletionAsync(id);

        Assert.Equal(id, again.WorkflowRequest.InstanceId);
        Assert.Contains(again.WorkflowRequest.NewEvents, e => e.ExecutionStarted is not null);
        Assert.Equal(OrchestrationStatus.Completed, state.WorkflowState.WorkflowStatus);
        Assert.Equal("\"done\"", state.WorkflowState.Output);
    }

    [Fact]
    public async Task An_activity_whose_result_could_not_be_stored_runs_again()
    {
        await using var rig = await RawWorker.StartAsync();
        var id = $"activity-{Guid.NewGuid():N}";
        await rig.Hub.StartInstanceAsync(new CreateInstanceRequest { InstanceId = id, Name = "W", Input = "\"in\"" }, cancellationToken: Ct);
        var first = await rig.NextAsync();
        var schedule = new WorkflowResponse { InstanceId = id, CompletionToken = first.CompletionToken };
        schedule.Actions.Add(new WorkflowAction { Id = 0, ScheduleTask = new ScheduleTaskAction { Name = "A", Input = "1", TaskExecutionId = "exec-0" } });
        await rig.Hub.CompleteWorkflowTaskAsync(schedule, cancellationToken: Ct);
        var activity = await rig.NextAsync();

        await using (await SqliteFaults.FailWritesAsync(rig.Database, rig.InstanceKey(id), SqliteFault.Error))
        {
            await Assert.ThrowsAsync<RpcException>(() => rig.Hub.CompleteActivityTaskAsync(
                new ActivityResponse { InstanceId = id, TaskId = 0, Result = "\"lost\"", CompletionToken = activity.CompletionToken }, cancellationToken: Ct).ResponseAsync);
        }

        var again = await rig.NextAsync();
        await rig.Hub.CompleteActivityTaskAsync(
            new ActivityResponse { InstanceId = id, TaskId = 0, Result = "\"stored\"", CompletionToken = again.CompletionToken }, cancellationToken: Ct);
        var turn = await rig.NextAsync();

        Assert.Equal("exec-0", again.ActivityRequest.TaskExecutionId);
        Assert.Equal("\"stored\"", Assert.Single(turn.WorkflowRequest.NewEvents, e => e.TaskCompleted is not null).TaskCompleted.Result);
    }

    private static WorkflowResponse Done(string id, string token)
    {
        var response = new WorkflowResponse { InstanceId = id, CompletionToken = token };
        response.Actions.Add(new WorkflowAction { Id = 0, CompleteWorkflow = new CompleteWorkflowAction { WorkflowStatus = OrchestrationStatus.Completed, Result = "\"done\"" } });
        return response;
    }

    /// <summary>A sidecar on a state.sqlite actor store, and a work-item stream the test answers by hand.</summary>
    private sealed class RawWorker : IAsyncDisposable
    {
        private readonly TempFolder _folder;
        private readonly SidecarProcess _sidecar;
        private readonly GrpcChannel _channel;
        private readonly CancellationTokenSource _cts;
        private readonly AsyncServerStreamingCall<WorkItem> _stream;

        private RawWorker(TempFolder folder, SidecarProcess sidecar, string database)
        {
            _folder = folder;
            _sidecar = sidecar;
            Database = database;
            _channel = GrpcChannel.ForAddress(sidecar.GrpcEndpoint);
            Hub = new TaskHubSidecarService.TaskHubSidecarServiceClient(_channel);
            _cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            _cts.CancelAfter(TimeSpan.FromSeconds(90));
            _stream = Hub.GetWorkItems(new GetWorkItemsRequest(), cancellationToken: _cts.Token);
        }

        public TaskHubSidecarService.TaskHubSidecarServiceClient Hub { get; }

        public string Database { get; }

        public static async Task<RawWorker> StartAsync()
        {
            var folder = new TempFolder("daprllm-wf-fail");
            try
            {
                var database = Path.Combine(folder.Path, "workflows.db");
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
                var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(AppId, folder.Sub("components"), folder.Sub("registry")), WorkflowHost.StartTimeout);
                return new RawWorker(folder, sidecar, database);
            }
            catch
            {
                folder.Dispose();
                throw;
            }
        }

        /// <summary>The key the sidecar keeps an instance under (daprd's layout).</summary>
        public string InstanceKey(string instanceId) => $"{AppId}||dapr.internal.default.{AppId}.workflow||{instanceId}||state";

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
}
