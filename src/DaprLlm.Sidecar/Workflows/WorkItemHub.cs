using System.Threading.Channels;
using Dapr.DurableTask.Protobuf;

namespace DaprLlm.Sidecar.Workflows;

/// <summary>One open GetWorkItems stream of the app's workflow worker.</summary>
public sealed class WorkerConnection
{
    public Guid Id { get; } = Guid.NewGuid();

    public Channel<WorkItem> Items { get; } = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true });
}

/// <summary>The app's open work-item streams; work is spread round robin over them.</summary>
public sealed class WorkItemHub
{
    private readonly List<WorkerConnection> _connections = [];
    private readonly Lock _gate = new();
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _next;

    /// <summary>Raised after a stream closed; its in-flight work must go back to the queues.</summary>
    public event Action<WorkerConnection>? Disconnected;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    public void Register(WorkerConnection connection)
    {
        lock (_gate)
        {
            _connections.Add(connection);
            _connected.TrySetResult();
        }
    }

    public void Unregister(WorkerConnection connection)
    {
        lock (_gate)
        {
            _connections.Remove(connection);
            if (_connections.Count == 0 && _connected.Task.IsCompleted)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        connection.Items.Writer.TryComplete();
        Disconnected?.Invoke(connection);
    }

    /// <summary>Waits until a worker is connected and returns one (round robin).</summary>
    public async Task<WorkerConnection> PickAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_connections.Count > 0)
                {
                    return _connections[(int)((uint)_next++ % _connections.Count)];
                }

                wait = _connected.Task;
            }

            await wait.WaitAsync(cancellationToken);
        }
    }
}
