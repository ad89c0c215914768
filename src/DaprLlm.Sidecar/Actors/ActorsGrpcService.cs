using System.Text;
using System.Text.Json.Nodes;
using Dapr.Client.Autogen.Grpc.v1;
using DaprLlm.Sidecar.Grpc;
using DaprLlm.Sidecar.Hosting;
using DaprLlm.Sidecar.State;
using Google.Protobuf;
using Grpc.Core;
using Empty = Google.Protobuf.WellKnownTypes.Empty;

namespace DaprLlm.Sidecar.Actors;

/// <summary>
/// The actor methods of the gRPC Dapr service (used by SDKs that call actors over gRPC): InvokeActor,
/// timers, reminders, GetActorState and ExecuteActorStateTransaction, on the same runtime as the HTTP API.
/// </summary>
[BindServiceMethod(typeof(ActorsGrpcService), nameof(BindService))]
public class ActorsGrpcService(ActorRuntime runtime, ActorReminders reminders, ActorStateStoreResolver stores, SidecarOptions options)
{
    public static void BindService(ServiceBinderBase binder, ActorsGrpcService? service)
    {
        // ASP.NET Core binds handlers by method name; the delegates are only needed by other binders.
        binder.AddMethod(DaprGrpcMethod.Unary<InvokeActorRequest, InvokeActorResponse>(DaprGrpcMethod.RuntimeService, nameof(InvokeActor)), service is null ? null : service.InvokeActor);
        binder.AddMethod(DaprGrpcMethod.Unary<RegisterActorTimerRequest, Empty>(DaprGrpcMethod.RuntimeService, nameof(RegisterActorTimer)), service is null ? null : service.RegisterActorTimer);
        binder.AddMethod(DaprGrpcMethod.Unary<UnregisterActorTimerRequest, Empty>(DaprGrpcMethod.RuntimeService, nameof(UnregisterActorTimer)), service is null ? null : service.UnregisterActorTimer);
        binder.AddMethod(DaprGrpcMethod.Unary<RegisterActorReminderRequest, Empty>(DaprGrpcMethod.RuntimeService, nameof(RegisterActorReminder)), service is null ? null : service.RegisterActorReminder);
        binder.AddMethod(DaprGrpcMethod.Unary<UnregisterActorReminderRequest, Empty>(DaprGrpcMethod.RuntimeService, nameof(UnregisterActorReminder)), service is null ? null : service.UnregisterActorReminder);
        binder.AddMethod(DaprGrpcMethod.Unary<GetActorStateRequest, GetActorStateResponse>(DaprGrpcMethod.RuntimeService, nameof(GetActorState)), service is null ? null : service.GetActorState);
        binder.AddMethod(DaprGrpcMethod.Unary<ExecuteActorStateTransactionRequest, Empty>(DaprGrpcMethod.RuntimeService, nameof(ExecuteActorStateTransaction)), service is null ? null : service.ExecuteActorStateTransaction);
    }

    public virtual async Task<InvokeActorResponse> InvokeActor(InvokeActorRequest request, ServerCallContext context)
    {
        var headers = request.Metadata.Select(kv => KeyValuePair.Create(kv.Key, kv.Value)).ToList();
        var call = new ActorCall(new ActorKey(request.ActorType, request.ActorId), request.Method, request.Data.ToByteArray(), "application/json", headers);
        var result = await runtime.InvokeAsync(call, context.CancellationToken);
        if (!result.IsSuccess)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"error invoke actor method: {Encoding.UTF8.GetString(result.Body)}"));
        }

        return new InvokeActorResponse { Data = ByteString.CopyFrom(result.Body) };
    }

    public virtual Task<Empty> RegisterActorTimer(RegisterActorTimerRequest request, ServerCallContext context)
    {
        var body = new JsonObject
        {
            ["dueTime"] = request.DueTime,
            ["period"] = request.Period,
            ["callback"] = request.Callback,
            ["data"] = request.Data.IsEmpty ? null : Convert.ToBase64String(request.Data.ToByteArray()),
        };
        if (!string.IsNullOrEmpty(request.Ttl))
        {
            body["ttl"] = request.Ttl;
        }

        var error = runtime.RegisterTimer(new ActorKey(request.ActorType, request.ActorId), request.Name, body);
        return error is null
            ? Task.FromResult(new Empty())
            : throw new RpcException(new Status(StatusCode.Internal, $"error creating actor timer: {error}"));
    }

    public virtual Task<Empty> UnregisterActorTimer(UnregisterActorTimerRequest request, ServerCallContext context)
    {
        runtime.UnregisterTimer(new ActorKey(request.ActorType, request.ActorId), request.Name);
        return Task.FromResult(new Empty());
    }

    public virtual async Task<Empty> RegisterActorReminder(RegisterActorReminderRequest request, ServerCallContext context)
    {
        RequireStore();
        await RequireHostedAsync(request.ActorType, context.CancellationToken);
        var body = new JsonObject
        {
            ["dueTime"] = request.DueTime,
            ["period"] = request.Period,
            ["data"] = request.Data.IsEmpty ? null : Convert.ToBase64String(request.Data.ToByteArray()),
        };
        if (!string.IsNullOrEmpty(request.Ttl))
        {
            body["ttl"] = request.Ttl;
        }

        string? error;
        try
        {
            error = await reminders.RegisterAsync(new ActorKey(request.ActorType, request.ActorId), request.Name, body, context.CancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // daprd's ErrActorReminderCreate: the reminder was not written.
            throw new RpcException(new Status(StatusCode.Internal, $"error creating actor reminder: {e.Message}"));
        }

        return error is null ? new Empty() : throw new RpcException(new Status(StatusCode.InvalidArgument, error));
    }

    public virtual async Task<Empty> UnregisterActorReminder(UnregisterActorReminderRequest request, ServerCallContext context)
    {
        RequireStore();
        await RequireHostedAsync(request.ActorType, context.CancellationToken);
        try
        {
            await reminders.UnregisterAsync(new ActorKey(request.ActorType, request.ActorId), request.Name, context.CancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // daprd's ErrActorReminderDelete: the reminder was not removed.
            throw new RpcException(new Status(StatusCode.Internal, $"error deleting actor reminder: {e.Message}"));
        }

        return new Empty();
    }

    public virtual async Task<GetActorStateResponse> GetActorState(GetActorStateRequest request, ServerCallContext context)
    {
        var store = RequireStore();
        var entry = await store.GetAsync(ActorsApi.StateKey(options.AppId, request.ActorType, request.ActorId, request.Key), context.CancellationToken);
        return new GetActorStateResponse { Data = entry is null ? ByteString.Empty : ByteString.CopyFrom(entry.Value) };
    }

    public virtual async Task<Empty> ExecuteActorStateTransaction(ExecuteActorStateTransactionRequest request, ServerCallContext context)
    {
        var store = RequireStore();
        var operations = new List<StateOperation>();
        string? ttlError = null;
        foreach (var op in request.Operations)
        {
            var key = ActorsApi.StateKey(options.AppId, request.ActorType, request.ActorId, op.Key);
            switch (op.OperationType?.ToLowerInvariant())
            {
                case "upsert":
                    // The value travels as an Any; its payload is what the actor wrote.
                    var value = op.Value is null ? Encoding.UTF8.GetBytes("null") : op.Value.Value.ToByteArray();
                    var badTtl = ActorsApi.TryParseTtl(op.Metadata.TryGetValue("ttlInSeconds", out var t) ? t : null, out var ttl);
                    ttlError ??= badTtl;
                    operations.Add(StateOperation.Upsert(new StateSetRequest(key, value, Ttl: ttl)));
                    break;
                case "delete":
                    operations.Add(StateOperation.Remove(new StateDeleteRequest(key)));
                    break;
                default:
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"operation type {op.OperationType} not supported"));
            }
        }

        if (!runtime.IsActiveHere(new ActorKey(request.ActorType, request.ActorId)))
        {
            throw new RpcException(new Status(StatusCode.Internal, ActorsApi.InstanceMissingMessage));
        }

        if (ttlError is not null)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"error saving actor transaction state: {ttlError}"));
        }

        try
        {
            await store.TransactAsync(operations, context.CancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException and not RpcException)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"error saving actor transaction state: {e.Message}"));
        }

        return new Empty();
    }

    private async Task RequireHostedAsync(string actorType, CancellationToken cancellationToken)
    {
        if (!await ActorsApi.IsHostedAsync(runtime, actorType, cancellationToken))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, ActorsApi.NotHostedMessage));
        }
    }

    private IStateStore RequireStore() =>
        stores.Store ?? throw new RpcException(new Status(StatusCode.Internal, ActorStateStoreResolver.MissingMessage));
}
