namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// Runs message handlers concurrently up to a limit and remembers those in flight, so a subscription can stop
/// reading and then wait for (drain) the deliveries it already started.
/// </summary>
public sealed class ConcurrencyGate(int limit)
{
    private readonly SemaphoreSlim _slots = new(Math.Max(1, limit), Math.Max(1, limit));
    private readonly HashSet<Task> _inFlight = [];
    private readonly Lock _lock = new();

    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight.Count;
            }
        }
    }

    /// <summary>Waits for a free slot, then starts <paramref name="work"/> without waiting for it to finish.</summary>
    public async Task StartAsync(Func<Task> work, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        Task task;
        lock (_lock)
        {
            task = Task.Run(async () =>
            {
                try
                {
                    await work();
                }
                finally
                {
                    _slots.Release();
                }
            }, CancellationToken.None);
            _inFlight.Add(task);
        }

        _ = task.ContinueWith(t =>
        {
            lock (_lock)
            {
                _inFlight.Remove(t);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Waits until every started handler has finished, or <paramref name="timeout"/> passes.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        Task[] pending;
        lock (_lock)
        {
            pending = [.. _inFlight];
        }

        await Task.WhenAll(pending).WaitAsync(timeout).ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
