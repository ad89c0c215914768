using DaprLlm.Gateway.Tenants;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Backpressure;

/// <summary>
/// Bounded admission for one model (see <see cref="AdmissionGates"/>) with weighted fair queuing between tenant tiers: when a place frees up and several tiers wait, places
/// go round by weight (enterprise 6, pro 3, free 1 by default), so enterprise is served first but free is not starved.
/// A full queue or a wait past MaxWait is shed rather than queued longer; a client that disconnects leaves the
/// queue at once, and a finished request frees its place at once.
/// </summary>
public sealed class AdmissionGate(IOptions<AdmissionOptions> options)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedList<TaskCompletionSource<bool>>> _queues = new()
    {
        [Tiers.Enterprise] = new(), [Tiers.Pro] = new(), [Tiers.Free] = new(),
    };

    private readonly string[] _order = [Tiers.Enterprise, Tiers.Pro, Tiers.Free];
    private int _inFlight;
    private int _queued;
    private int _turn;
    private int _servedInTurn;

    public int InFlight => Volatile.Read(ref _inFlight);

    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Waits for a place; null when shed (queue full or waited too long). Dispose the place to free it.</summary>
    public async ValueTask<IDisposable?> EnterAsync(string tier, CancellationToken ct)
    {
        var o = options.Value;
        TaskCompletionSource<bool> waiter;
        LinkedListNode<TaskCompletionSource<bool>> node;
        lock (_lock)
        {
            if (_inFlight < o.MaxInFlight && _queued == 0)
            {
                _inFlight++;
                return new Place(this);
            }

            if (_queued >= o.MaxQueued)
            {
                return null;
            }

            waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = Queue(tier).AddLast(waiter);
            _queued++;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(o.MaxWait);
        await using (timeout.Token.Register(() =>
        {
            lock (_lock)
            {
                if (node.List is not null)
                {
                    node.List.Remove(node);
                    _queued--;
                    waiter.TrySetResult(false);
                }
            }
        }))
        {
            if (await waiter.Task)
            {
                return new Place(this);
            }
        }

        ct.ThrowIfCancellationRequested();
        return null;
    }

    private LinkedList<TaskCompletionSource<bool>> Queue(string tier) => _queues.TryGetValue(tier, out var q) ? q : _queues[Tiers.Free];

    private void Leave()
    {
        lock (_lock)
        {
            _inFlight--;
            while (_queued > 0 && _inFlight < options.Value.MaxInFlight)
            {
                var next = NextWaiter();
                _queued--;
                _inFlight++;
                next.TrySetResult(true);
            }
        }
    }

    // Weighted round robin over the non-empty tier queues.
    private TaskCompletionSource<bool> NextWaiter()
    {
        for (var step = 0; step < _order.Length * 2; step++)
        {
            var tier = _order[_turn];
            var queue = _queues[tier];
            if (queue.Count > 0 && _servedInTurn < Weight(tier))
            {
                _servedInTurn++;
                var first = queue.First!;
                queue.RemoveFirst();
                return first.Value;
            }

            _turn = (_turn + 1) % _order.Length;
            _servedInTurn = 0;
        }

        throw new InvalidOperationException("queue count out of step");
    }

    private int Weight(string tier) => tier switch
    {
        Tiers.Enterprise => options.Value.EnterpriseWeight,
        Tiers.Pro => options.Value.ProWeight,
        _ => options.Value.FreeWeight,
    };

    private sealed class Place(AdmissionGate gate) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                gate.Leave();
            }
        }
    }
}
