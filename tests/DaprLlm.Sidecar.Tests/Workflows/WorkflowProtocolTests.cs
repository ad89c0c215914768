using Dapr.DurableTask.Protobuf;
using Dapr.Workflow;
using Dapr.Workflow.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Workflows.Samples;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>
/// TaskHubSidecarService details the SDK does not expose directly: idempotent completions (the test plays the
/// worker with the SDK's own gRPC client), purge by filter with children, rerun from an event, and child
/// workflow ids that are taken.
/// </summary>
public sealed class WorkflowProtocolTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ignores_duplicate_completions_of_the_same_work_item()
    {
        using var folder = new TempFolder("daprllm-wf-raw");
        var components = folder.Sub("components");
        folder.Write("components/wfstore.yaml", """
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
            """);
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("wf-raw-worker", components, folder.Sub("registry")), WorkflowHost.StartTimeout);
        using var channel = GrpcChannel.ForAddress(sidecar.GrpcEndpoint);
        var hub = new TaskHubSidecarService.TaskHubSidecarServiceClient(channel);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(90));
        using var stream = hub.GetWorkItems(new GetWorkItemsRequest(), cancellationToken: cts.Token);
        await hub.StartInstanceAsync(new CreateInstanceRequest { InstanceId = "dup-1", Name = "W", Input = "\"in\"" }, cancellationToken: cts.Token);

        var first = await NextAsync(stream, cts.Token);
        var schedule = new WorkflowResponse { InstanceId = "dup-1", CompletionToken = first.CompletionToken };
        schedule.Actions.Add(new WorkflowAction { Id = 0, ScheduleTask = new ScheduleTaskAction { Name = "A", Input = "1", TaskExecutionId = "exec-0" } });
#pragma warning disable CS0612 // the SDK still completes through the deprecated name
        await hub.CompleteOrchestratorTaskAsync(schedule, cancellationToken: cts.Token);
#pragma warning restore CS0612
        await hub.CompleteWorkflowTaskAsync(schedule, cancellationToken: cts.Token);
        var activity = await NextAsync(stream, cts.Token);
        await hub.CompleteActivityTaskAsync(new ActivityResponse { InstanceId = "dup-1", TaskId = 0, Result = "\"first\"", CompletionToken = activity.CompletionToken }, cancellationToken: cts.Token);
        await hub.CompleteActivityTaskAsync(new ActivityResponse { InstanceId = "dup-1", TaskId = 0, Result = "\"second\"", CompletionToken = activity.CompletionToken }, cancellationToken: cts.Token);
        var second = await NextAsync(stream, cts.Token);
        var done = new WorkflowResponse { InstanceId = "dup-1", CompletionToken = second.CompletionToken };
        done.Actions.Add(new WorkflowAction { Id = 1, CompleteWorkflow = new CompleteWorkflowAction { WorkflowStatus = OrchestrationStatus.Completed, Result = "\"done\"" } });
        await hub.CompleteWorkflowTaskAsync(done, cancellationToken: cts.Token);
        var state = await hub.WaitForInstanceCompletionAsync(new GetInstanceRequest { InstanceId = "dup-1", GetInputsAndOutputs = true }, cancellationToken: cts.Token);
        var history = await hub.GetInstanceHistoryAsync(new GetInstanceHistoryRequest { InstanceId = "dup-1" }, cancellationToken: cts.Token);

        Assert.Equal("exec-0", activity.ActivityRequest.TaskExecutionId);
        Assert.Contains(first.WorkflowRequest.NewEvents, e => e.ExecutionStarted?.Name == "W");
        Assert.Single(second.WorkflowRequest.NewEvents, e => e.TaskCompleted is not null);
        Assert.Equal("\"first\"", second.WorkflowRequest.NewEvents.Single(e => e.TaskCompleted is not null).TaskCompleted.Result);
        Assert.Equal(OrchestrationStatus.Completed, state.WorkflowState.WorkflowStatus);
        Assert.Equal("\"done\"", state.WorkflowState.Output);
        Assert.Single(history.Events, e => e.TaskScheduled is not null);
        Assert.Single(history.Events, e => e.TaskCompleted is not null);
    }

    [Fact]
    public async Task Purges_finished_instances_by_filter_with_their_children_and_reruns_from_an_event()
    {
        await using var host = await WorkflowHost.StartAsync("wf-protocol", SampleRegistrations.All);
        var since = DateTime.UtcNow.AddSeconds(-1);
        var parent = $"parent-{Guid.NewGuid():N}";
        var greeting = $"greet-{Guid.NewGuid():N}";
        await host.RunAsync(nameof(ParentWorkflow), parent, "Ada");
        await host.RunAsync(nameof(GreetingWorkflow), greeting, "Ada");
        var running = $"running-{Guid.NewGuid():N}";
        await host.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), running, 0);

        // Rerun the greeting from its activity with another input.
        var history = await host.Client.GetInstanceHistoryAsync(greeting, Ct);
        var scheduled = history.First(e => e.EventType == WorkflowHistoryEventType.TaskScheduled);
        var rerunId = await host.Client.RerunWorkflowFromEventAsync(greeting, (uint)scheduled.EventId,
            new RerunWorkflowFromEventOptions { NewInstanceId = $"{greeting}-rerun", Input = "Bob", OverwriteInput = true }, Ct);
        var rerun = await host.WaitForCompletionAsync(rerunId);

        using var channel = GrpcChannel.ForAddress(host.Sidecar.GrpcEndpoint);
        var hub = new TaskHubSidecarService.TaskHubSidecarServiceClient(channel);
        var filter = new PurgeInstanceFilter { CreatedTimeFrom = Timestamp.FromDateTime(since) };
        filter.RuntimeStatus.Add(OrchestrationStatus.Completed);
        var purged = await hub.PurgeInstancesAsync(new PurgeInstancesRequest { PurgeInstanceFilter = filter, Recursive = true }, cancellationToken: Ct);
        var ids = await host.Client.ListInstanceIdsAsync(null, null, Ct);

        Assert.Equal("Hello, Bob!", rerun.ReadOutputAs<string>());
        Assert.Equal(4, purged.DeletedInstanceCount); // parent, its child, the greeting and the rerun
        Assert.Equal([running], ids.InstanceIds);
        await host.Client.TerminateWorkflowAsync(running, null, Ct);
    }

    [Fact]
    public async Task A_child_workflow_never_replaces_an_active_instance_or_its_parent_the_parents_task_fails_instead()
    {
        await using var rig = await RawWorker.StartAsync("wf-child-ids");
        var active = $"active-{Guid.NewGuid():N}";
        var parent = $"parent-{Guid.NewGuid():N}";
        await rig.Hub.StartInstanceAsync(new CreateInstanceRequest { InstanceId = active, Name = "Active", Input = "\"a\"" }, cancellationToken: Ct);
        var activeTurn = await rig.NextAsync();
        var wait = new WorkflowResponse { InstanceId = active, CompletionToken = activeTurn.CompletionToken };
        wait.Actions.Add(new WorkflowAction { Id = 0, CreateTimer = new CreateTimerAction { FireAt = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)) } });
        await rig.Hub.CompleteWorkflowTaskAsync(wait, cancellationToken: Ct);

        await rig.Hub.StartInstanceAsync(new CreateInstanceRequest { InstanceId = parent, Name = "Parent", Input = "\"p\"" }, cancellationToken: Ct);
        var parentTurn = await rig.NextAsync();
        var calls = new WorkflowResponse { InstanceId = parent, CompletionToken = parentTurn.CompletionToken };
        calls.Actions.Add(new WorkflowAction { Id = 0, CreateChildWorkflow = new CreateChildWorkflowAction { InstanceId = active, Name = "Child", Input = "\"c\"" } });
        calls.Actions.Add(new WorkflowAction { Id = 1, CreateChildWorkflow = new CreateChildWorkflowAction { InstanceId = parent, Name = "Child", Input = "\"c\"" } });
        await rig.Hub.CompleteWorkflowTaskAsync(calls, cancellationToken: Ct);
        var next = await rig.NextAsync();
        var activeState = (await rig.Hub.GetInstanceAsync(new GetInstanceRequest { InstanceId = active, GetInputsAndOutputs = true }, cancellationToken: Ct)).WorkflowState;
        var parentState = (await rig.Hub.GetInstanceAsync(new GetInstanceRequest { InstanceId = parent, GetInputsAndOutputs = true }, cancellationToken: Ct)).WorkflowState;

        Assert.Equal(parent, next.WorkflowRequest?.InstanceId);
        Assert.Equal(2, next.WorkflowRequest!.PastEvents.Count(e => e.ChildWorkflowInstanceCreated is not null));
        var failed = next.WorkflowRequest.NewEvents.Where(e => e.ChildWorkflowInstanceFailed is not null).Select(e => e.ChildWorkflowInstanceFailed).ToList();
        Assert.Equal([0, 1], failed.Select(f => f.TaskScheduledId).Order());
        Assert.All(failed, f => Assert.Contains("already exists", f.FailureDetails.ErrorMessage, StringComparison.Ordinal));
        Assert.Equal(("Active", "\"a\"", OrchestrationStatus.Running), (activeState.Name, activeState.Input, activeState.WorkflowStatus));
        Assert.Equal(("Parent", "\"p\"", OrchestrationStatus.Running), (parentState.Name, parentState.Input, parentState.WorkflowStatus));
    }

    private static async Task<WorkItem> NextAsync(Grpc.Core.AsyncServerStreamingCall<WorkItem> stream, CancellationToken cancellationToken)
    {
        Assert.True(await stream.ResponseStream.MoveNext(cancellationToken), "the work-item stream ended");
        return stream.ResponseStream.Current;
    }
}
