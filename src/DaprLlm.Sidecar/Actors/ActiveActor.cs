namespace DaprLlm.Sidecar.Actors;

/// <summary>
/// An actor held by this sidecar: its turn lock (one call at a time, unless the call belongs to the
/// reentrancy chain now running), lease ETag, last use and timers.
/// </summary>
public sealed class ActiveActor(ActorKey key, string leaseETag, DateTimeOffset now)
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly Lock _gate = new();
    private string? _chain;
    private int _depth;
    private long _lastUsedTicks = now.UtcTicks;
    private int _inFlight;

    public ActorKey Key { get; } = key;

    public string LeaseETag { get; set; } = leaseETag;

    /// <summary>
    /// Until when this sidecar may run the actor without asking the store again: the start of the last successful
    /// acquire or renewal plus the lease duration (the record's own expiry is written later, so this is never after it).
    /// </summary>
    public DateTimeOffset LeaseValidUntil { get; set; }

    /// <summary>One lease renewal at a time (heartbeat or a call re-validating): two with the same ETag would look like a loss.</summary>
    public SemaphoreSlim LeaseLock { get; } = new(1, 1);

    /// <summary>Set once the actor was deactivated: a call that was waiting for its turn must start over.</summary>
    public bool Deactivated { get; private set; }

    public DateTimeOffset LastUsed => new(Interlocked.Read(ref _lastUsedTicks), TimeSpan.Zero);

    public bool Busy => Volatile.Read(ref _inFlight) > 0;

    public Dictionary<string, ActorTimerRegistration> Timers { get; } = new(StringComparer.Ordinal);

    public void Touch(DateTimeOffset now) => Interlocked.Exchange(ref _lastUsedTicks, now.UtcTicks);

    /// <summary>
    /// Waits for the actor's turn. With reentrancy, a call carrying the chain id of the running call enters at
    /// once (up to <paramref name="maxDepth"/> nested calls). Returns null when the actor was deactivated meanwhile.
    /// </summary>
    public async Task<Turn?> EnterAsync(string? chain, bool reentrancy, int maxDepth, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            if (reentrancy && chain is not null)
            {
                lock (_gate)
                {
                    if (_chain == chain)
                    {
                        if (_depth >= maxDepth)
                        {
                            throw new ActorStackDepthException(maxDepth);
                        }

                        _depth++;
                        return new Turn(this, nested: true);
                    }
                }
            }

            await _turn.WaitAsync(cancellationToken);
            lock (_gate)
            {
                if (Deactivated)
                {
                    _turn.Release();
                    Interlocked.Decrement(ref _inFlight);
                    return null;
                }

                _chain = reentrancy ? chain : null;
                _depth = 1;
            }

            return new Turn(this, nested: false);
        }
        catch
        {
            Interlocked.Decrement(ref _inFlight);
            throw;
        }
    }

    /// <summary>Takes the turn for deactivation if the actor is idle right now; false when a call holds or waits for it.</summary>
    public bool TryBeginDeactivation()
    {
        if (Busy || !_turn.Wait(0))
        {
            return false;
        }

        lock (_gate)
        {
            if (Busy)
            {
                _turn.Release();
                return false;
            }

            Deactivated = true;
        }

        return true;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for running calls, then marks the actor deactivated.</summary>
    public async Task BeginDrainAsync(TimeSpan timeout)
    {
        var acquired = await _turn.WaitAsync(timeout);
        lock (_gate)
        {
            Deactivated = true;
        }

        if (acquired)
        {
            _turn.Release();
        }
    }

    /// <summary>Marks the actor deactivated without waiting (its lease was lost) and releases a taken turn.</summary>
    public void EndDeactivation() => _turn.Release();

    public void MarkLost()
    {
        lock (_gate)
        {
            Deactivated = true;
        }
    }

    /// <summary>One call's hold on the actor; dispose to let the next call in.</summary>
    public sealed class Turn(ActiveActor actor, bool nested) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            lock (actor._gate)
            {
                if (nested)
                {
                    actor._depth--;
                }
                else
                {
                    actor._chain = null;
                    actor._depth = 0;
                }
            }

            if (!nested)
            {
                actor._turn.Release();
            }

            Interlocked.Decrement(ref actor._inFlight);
        }
    }
}

/// <summary>A reentrant call went deeper than the configured maxStackDepth.</summary>
public sealed class ActorStackDepthException(int maxDepth) : Exception($"maximum stack depth exceeded ({maxDepth})")
{
    public ActorStackDepthException()
        : this(0)
    {
    }
}
