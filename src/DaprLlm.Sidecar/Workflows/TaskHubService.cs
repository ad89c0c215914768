using Dapr.DurableTask.Protobuf;
using DaprLlm.Sidecar.Grpc;
using Google.Protobuf.WellKnownTypes;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace DaprLlm.Sidecar.Workflows;

/// <summary>
/// gRPC service "TaskHubSidecarService" (no proto package), as the Dapr.Workflow 1.19 client and worker call it.
/// Methods are hand-bound because Dapr.Workflow.Grpc ships client stubs only.
/// </summary>
[BindServiceMethod(typeof(TaskHubService), nameof(BindService))]
public class TaskHubService(WorkflowEngine engine, WorkItemHub hub, IHostApplicationLifetime lifetime)
{
    public const string ServiceName = "TaskHubSidecarService";

    // Grpc.AspNetCore binds each method to the public virtual method of the same name on this class (resolved
    // per call from DI), so the handler delegates are not needed and the C# names must match the gRPC names.
    public static void BindService(ServiceBinderBase binder, TaskHubService? service)
    {
        binder.AddMethod(DaprGrpcMethod.Unary<Empty, Empty>(ServiceName, "Hello"), (UnaryServerMethod<Empty, Empty>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<CreateInstanceRequest, CreateInstanceResponse>(ServiceName, "StartInstance"), (UnaryServerMethod<CreateInstanceRequest, CreateInstanceResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<GetInstanceRequest, GetInstanceResponse>(ServiceName, "GetInstance"), (UnaryServerMethod<GetInstanceRequest, GetInstanceResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<GetInstanceRequest, GetInstanceResponse>(ServiceName, "WaitForInstanceStart"), (UnaryServerMethod<GetInstanceRequest, GetInstanceResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<GetInstanceRequest, GetInstanceResponse>(ServiceName, "WaitForInstanceCompletion"), (UnaryServerMethod<GetInstanceRequest, GetInstanceResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<RaiseEventRequest, RaiseEventResponse>(ServiceName, "RaiseEvent"), (UnaryServerMethod<RaiseEventRequest, RaiseEventResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<TerminateRequest, TerminateResponse>(ServiceName, "TerminateInstance"), (UnaryServerMethod<TerminateRequest, TerminateResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<SuspendRequest, SuspendResponse>(ServiceName, "SuspendInstance"), (UnaryServerMethod<SuspendRequest, SuspendResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<ResumeRequest, ResumeResponse>(ServiceName, "ResumeInstance"), (UnaryServerMethod<ResumeRequest, ResumeResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<PurgeInstancesRequest, PurgeInstancesResponse>(ServiceName, "PurgeInstances"), (UnaryServerMethod<PurgeInstancesRequest, PurgeInstancesResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.ServerStreaming<GetWorkItemsRequest, WorkItem>(ServiceName, "GetWorkItems"), (ServerStreamingServerMethod<GetWorkItemsRequest, WorkItem>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<ActivityResponse, CompleteTaskResponse>(ServiceName, "CompleteActivityTask"), (UnaryServerMethod<ActivityResponse, CompleteTaskResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<WorkflowResponse, CompleteTaskResponse>(ServiceName, "CompleteOrchestratorTask"), (UnaryServerMethod<WorkflowResponse, CompleteTaskResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<WorkflowResponse, CompleteTaskResponse>(ServiceName, "CompleteWorkflowTask"), (UnaryServerMethod<WorkflowResponse, CompleteTaskResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<RerunWorkflowFromEventRequest, RerunWorkflowFromEventResponse>(ServiceName, "RerunWorkflowFromEvent"), (UnaryServerMethod<RerunWorkflowFromEventRequest, RerunWorkflowFromEventResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<ListInstanceIDsRequest, ListInstanceIDsResponse>(ServiceName, "ListInstanceIDs"), (UnaryServerMethod<ListInstanceIDsRequest, ListInstanceIDsResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<GetInstanceHistoryRequest, GetInstanceHistoryResponse>(ServiceName, "GetInstanceHistory"), (UnaryServerMethod<GetInstanceHistoryRequest, GetInstanceHistoryResponse>?)null);
    }

    public virtual Task<Empty> Hello(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public virtual async Task<CreateInstanceResponse> StartInstance(CreateInstanceRequest request, ServerCallContext context) =>
        new() { InstanceId = await engine.StartAsync(request, context.CancellationToken) };

    public virtual Task<GetInstanceResponse> GetInstance(GetInstanceRequest request, ServerCallContext context) =>
        engine.GetAsync(request.InstanceId, request.GetInputsAndOutputs, context.CancellationToken);

    public virtual Task<GetInstanceResponse> WaitForInstanceStart(GetInstanceRequest request, ServerCallContext context) =>
        engine.WaitAsync(request.InstanceId, request.GetInputsAndOutputs, s => s != OrchestrationStatus.Pending, context.CancellationToken);

    public virtual Task<GetInstanceResponse> WaitForInstanceCompletion(GetInstanceRequest request, ServerCallContext context) =>
        engine.WaitAsync(request.InstanceId, request.GetInputsAndOutputs, WorkflowStatus.IsTerminal, context.CancellationToken);

    public virtual async Task<RaiseEventResponse> RaiseEvent(RaiseEventRequest request, ServerCallContext context)
    {
        await engine.RaiseEventAsync(request, context.CancellationToken);
        return new RaiseEventResponse();
    }

    public virtual async Task<TerminateResponse> TerminateInstance(TerminateRequest request, ServerCallContext context)
    {
        await engine.TerminateAsync(request, context.CancellationToken);
        return new TerminateResponse();
    }

    public virtual async Task<SuspendResponse> SuspendInstance(SuspendRequest request, ServerCallContext context)
    {
        await engine.SuspendAsync(request.InstanceId, request.Reason, context.CancellationToken);
        return new SuspendResponse();
    }

    public virtual async Task<ResumeResponse> ResumeInstance(ResumeRequest request, ServerCallContext context)
    {
        await engine.ResumeAsync(request.InstanceId, request.Reason, context.CancellationToken);
        return new ResumeResponse();
    }

    public virtual async Task<PurgeInstancesResponse> PurgeInstances(PurgeInstancesRequest request, ServerCallContext context) =>
        new() { DeletedInstanceCount = await engine.PurgeAsync(request, context.CancellationToken), IsComplete = true };

    /// <summary>The worker's stream: work items are pushed as they become ready, until the app disconnects.</summary>
    public virtual async Task GetWorkItems(GetWorkItemsRequest request, IServerStreamWriter<WorkItem> responseStream, ServerCallContext context)
    {
        // End the stream when the sidecar stops, so shutdown does not wait for the app to hang up.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        await engine.WhenReadyAsync(stop.Token);
        var connection = new WorkerConnection();
        hub.Register(connection);
        try
        {
            await foreach (var item in connection.Items.Reader.ReadAllAsync(stop.Token))
            {
                await responseStream.WriteAsync(item, stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The app went away; its in-flight work is re-queued by Unregister.
        }
        finally
        {
            hub.Unregister(connection);
        }
    }

    public virtual async Task<CompleteTaskResponse> CompleteActivityTask(ActivityResponse request, ServerCallContext context)
    {
        await engine.CompleteActivityAsync(request, context.CancellationToken);
        return new CompleteTaskResponse();
    }

    public virtual async Task<CompleteTaskResponse> CompleteOrchestratorTask(WorkflowResponse request, ServerCallContext context)
    {
        await engine.CompleteOrchestratorAsync(request, context.CancellationToken);
        return new CompleteTaskResponse();
    }

    /// <summary>The newer name of CompleteOrchestratorTask (runtimes 1.18+).</summary>
    public virtual Task<CompleteTaskResponse> CompleteWorkflowTask(WorkflowResponse request, ServerCallContext context) =>
        CompleteOrchestratorTask(request, context);

    public virtual async Task<RerunWorkflowFromEventResponse> RerunWorkflowFromEvent(RerunWorkflowFromEventRequest request, ServerCallContext context) =>
        new() { NewInstanceID = await engine.RerunAsync(request, context.CancellationToken) };

    public virtual Task<ListInstanceIDsResponse> ListInstanceIDs(ListInstanceIDsRequest request, ServerCallContext context) =>
        engine.ListAsync(request, context.CancellationToken);

    public virtual Task<GetInstanceHistoryResponse> GetInstanceHistory(GetInstanceHistoryRequest request, ServerCallContext context) =>
        engine.HistoryAsync(request.InstanceId, context.CancellationToken);
}
