using Dapr.Client.Autogen.Grpc.v1;
using DaprLlm.Sidecar.Grpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DaprLlm.Sidecar.State;

/// <summary>The state methods of dapr.proto.runtime.v1.Dapr, as daprd answers them (ETag mismatch = ABORTED).</summary>
[BindServiceMethod(typeof(StateGrpcService), nameof(BindService))]
public class StateGrpcService(StateService state)
{
    public static void BindService(ServiceBinderBase binder, StateGrpcService service)
    {
        binder.AddMethod(DaprGrpcMethod.Unary<GetStateRequest, GetStateResponse>(DaprGrpcMethod.RuntimeService, "GetState"), (request, context) => service.GetState(request, context));
        binder.AddMethod(DaprGrpcMethod.Unary<GetBulkStateRequest, GetBulkStateResponse>(DaprGrpcMethod.RuntimeService, "GetBulkState"), (request, context) => service.GetBulkState(request, context));
        binder.AddMethod(DaprGrpcMethod.Unary<SaveStateRequest, Empty>(DaprGrpcMethod.RuntimeService, "SaveState"), (request, context) => service.SaveState(request, context));
        binder.AddMethod(DaprGrpcMethod.Unary<DeleteStateRequest, Empty>(DaprGrpcMethod.RuntimeService, "DeleteState"), (request, context) => service.DeleteState(request, context));
        binder.AddMethod(DaprGrpcMethod.Unary<DeleteBulkStateRequest, Empty>(DaprGrpcMethod.RuntimeService, "DeleteBulkState"), (request, context) => service.DeleteBulkState(request, context));
        binder.AddMethod(DaprGrpcMethod.Unary<ExecuteStateTransactionRequest, Empty>(DaprGrpcMethod.RuntimeService, "ExecuteStateTransaction"), (request, context) => service.ExecuteStateTransaction(request, context));
    }

    public virtual async Task<GetStateResponse> GetState(GetStateRequest request, ServerCallContext context)
    {
        var store = Resolve(request.StoreName);
        var key = Key(store, request.Key);
        StateEntry? entry;
        try
        {
            entry = await state.RunAsync(request.StoreName, async ct => await store.Store.GetAsync(key, ct), context.CancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"fail to get {request.Key} from state store {request.StoreName}: {e.Message}"));
        }

        return entry is null ? new GetStateResponse() : ToResponse(entry);
    }

    public virtual async Task<GetBulkStateResponse> GetBulkState(GetBulkStateRequest request, ServerCallContext context)
    {
        var store = Resolve(request.StoreName);
        var response = new GetBulkStateResponse();
        if (request.Keys.Count == 0)
        {
            return response;
        }

        var keys = request.Keys.Select(k => Key(store, k)).ToList();
        IReadOnlyList<StateEntry?> entries;
        try
        {
            entries = await state.RunAsync(request.StoreName, async ct => await store.Store.BulkGetAsync(keys, ct), context.CancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Internal, e.Message));
        }

        for (var i = 0; i < keys.Count; i++)
        {
            var item = new BulkStateItem { Key = request.Keys[i] };
            if (entries[i] is { } entry)
            {
                item.Data = ByteString.CopyFrom(entry.Value);
                item.Etag = entry.ETag;
                AddExpiry(item.Metadata, entry);
            }

            response.Items.Add(item);
        }

        return response;
    }

    public virtual async Task<Empty> SaveState(SaveStateRequest request, ServerCallContext context)
    {
        var store = Resolve(request.StoreName);
        var requests = new List<StateSetRequest>(request.States.Count);
        foreach (var item in request.States)
        {
            if (item.Key.Length == 0)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "state key cannot be empty"));
            }

            requests.Add(ToSetRequest(store, item));
        }

        foreach (var set in requests)
        {
            try
            {
                await state.RunAsync(request.StoreName, ct => store.Store.SetAsync(set, ct), context.CancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new RpcException(new Status(StoreErrorCode(e), $"failed saving state in state store {request.StoreName}: {e.Message}"));
            }
        }

        return new Empty();
    }

    public virtual async Task<Empty> DeleteState(DeleteStateRequest request, ServerCallContext context)
    {
        var store = Resolve(request.StoreName);
        var delete = new StateDeleteRequest(Key(store, request.Key), ETagOf(request.Etag), Concurrency(request.Options));
        try
        {
            await state.RunAsync(request.StoreName, ct => store.Store.DeleteAsync(delete, ct), context.CancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new RpcException(new Status(StoreErrorCode(e), $"failed deleting state with key {request.Key}: {e.Message}"));
        }

        return new Empty();
    }

    public virtual async Task<Empty> DeleteBulkState(DeleteBulkStateRequest request, ServerCallContext context)
    {
        var store = Resolve(request.StoreName);
        var deletes = request.States.Select(s => new StateDeleteRequest(Key(store, s.Key), ETagOf(s.Etag), Concurrency(s.Options))).ToList();
        foreach (var delete in deletes)
        {
            try
            {
                await state.RunAsync(request.StoreName, ct => store.Store.DeleteAsync(delete, ct), context.CancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new RpcException(new Status(StoreErrorCode(e), $"failed deleting state in state store {request.StoreName}: {e.Message}"));
            }
        }

        return new Empty();
    }

    public virtual async Task<Empty> ExecuteStateTransaction(ExecuteStateTransactionRequest request, ServerCallContext context)
    {
        var store = Resolve(request.StoreName);
        var operations = new List<StateOperation>(request.Operations.Count);
        foreach (var op in request.Operations)
        {
            var item = op.Request ?? new StateItem();
            switch (op.OperationType)
            {
                case "upsert":
                    operations.Add(StateOperation.Upsert(ToSetRequest(store, item)));
                    break;
                case "delete":
                    operations.Add(StateOperation.Remove(new StateDeleteRequest(Key(store, item.Key), ETagOf(item.Etag), Concurrency(item.Options))));
                    break;
                default:
                    throw new RpcException(new Status(StatusCode.Unimplemented, $"operation type {op.OperationType} not supported"));
            }
        }

        if (operations.Count == 0)
        {
            return new Empty();
        }

        try
        {
            await state.RunAsync(request.StoreName, ct => store.Store.TransactAsync(operations, ct), context.CancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // daprd reports every failed transaction, a stale ETag included, as Internal.
            throw new RpcException(new Status(StatusCode.Internal, $"error while executing state transaction: {e.Message}"));
        }

        return new Empty();
    }

    private static GetStateResponse ToResponse(StateEntry entry)
    {
        var response = new GetStateResponse { Data = ByteString.CopyFrom(entry.Value), Etag = entry.ETag };
        AddExpiry(response.Metadata, entry);
        return response;
    }

    private static void AddExpiry(IDictionary<string, string> metadata, StateEntry entry)
    {
        if (entry.ExpiresAt is { } expires)
        {
            metadata["ttlExpireTime"] = expires.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private StateStoreHandle Resolve(string name)
    {
        try
        {
            return state.Resolve(name);
        }
        catch (StateApiException e)
        {
            throw e.ToGrpc();
        }
    }

    private static string Key(StateStoreHandle store, string key)
    {
        try
        {
            return StateService.StoreKey(store, key);
        }
        catch (StateApiException e)
        {
            throw e.ToGrpc();
        }
    }

    private static StateSetRequest ToSetRequest(StateStoreHandle store, StateItem item)
    {
        try
        {
            return new StateSetRequest(Key(store, item.Key), item.Value.ToByteArray(), ETagOf(item.Etag), Concurrency(item.Options),
                StateService.ParseTtl(item.Metadata));
        }
        catch (StateRequestException e)
        {
            throw new RpcException(new Status(StatusCode.Internal, e.Message));
        }
    }

    private static string? ETagOf(Etag? etag) => etag is { Value.Length: > 0 } ? etag.Value : null;

    private static StateConcurrency Concurrency(StateOptions? options) =>
        options?.Concurrency == StateOptions.Types.StateConcurrency.ConcurrencyFirstWrite ? StateConcurrency.FirstWrite : StateConcurrency.LastWrite;

    private static StatusCode StoreErrorCode(Exception e) => e switch
    {
        StateETagException { Invalid: true } => StatusCode.InvalidArgument,
        StateETagException => StatusCode.Aborted,
        _ => StatusCode.Internal,
    };
}
