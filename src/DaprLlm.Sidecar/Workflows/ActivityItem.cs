using Dapr.DurableTask.Protobuf;

namespace DaprLlm.Sidecar.Workflows;

/// <summary>
/// A scheduled activity waiting for (or running on) the worker. Which stream it was handed to is swapped atomically,
/// so when that stream closes exactly one of the dispatcher (its write failed) and the disconnect handler takes it
/// back and queues it again.
/// </summary>
internal sealed class ActivityItem
{
    private WorkerConnection? _connection;

    public required string Token { get; init; }

    public required ActivityRequest Request { get; init; }

    public long DispatchedAt { get; set; }

    public WorkerConnection? Connection => Volatile.Read(ref _connection);

    public WorkItem ToWorkItem() => new() { ActivityRequest = Request, CompletionToken = Token };

    public void HandTo(WorkerConnection connection) => Volatile.Write(ref _connection, connection);

    /// <summary>Takes the item back from a stream it was handed to; true for exactly one caller per handover.</summary>
    public bool TakeBack(WorkerConnection connection) => Interlocked.CompareExchange(ref _connection, null, connection) == connection;

    /// <summary>Forgets the stream: a later disconnect must not queue the item again (whoever calls this queues it).</summary>
    public void Release() => Volatile.Write(ref _connection, null);
}
