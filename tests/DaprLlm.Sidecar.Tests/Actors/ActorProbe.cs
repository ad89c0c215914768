using System.Collections.Concurrent;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>The name of the test app instance an actor runs in.</summary>
public sealed record ActorHostName(string Name);

/// <summary>
/// What the test actors report, shared by every app instance of one test: activations, deactivations,
/// overlapping calls, timer and reminder firings.
/// </summary>
public sealed class ActorProbe
{
    private readonly ConcurrentDictionary<string, string> _activeOn = new();
    private readonly ConcurrentDictionary<string, int> _inside = new();
    private readonly TaskCompletionSource _releaseHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _releaseDeactivations = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _releaseCalls = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _overlaps;
    private int _maxInside;
    private int _busy;
    private int _maxBusy;

    public ConcurrentQueue<(string Id, string Host)> Activations { get; } = new();

    public ConcurrentQueue<(string Id, string Host)> Deactivations { get; } = new();

    public ConcurrentQueue<(string Id, string Name, string Host, DateTimeOffset At)> Timers { get; } = new();

    public ConcurrentQueue<(string Id, string Name, string Host, DateTimeOffset At)> Reminders { get; } = new();

    /// <summary>Reminder callbacks of this name are recorded, then do not return until <see cref="ReleaseHeldReminders"/> (an app busy in a callback).</summary>
    public string? HoldRemindersNamed { get; init; }

    public Task HeldReminders => _releaseHeld.Task;

    public void ReleaseHeldReminders() => _releaseHeld.TrySetResult();

    /// <summary>When set, the app's deactivation of an actor is recorded, then does not return until <see cref="ReleaseDeactivations"/>.</summary>
    public bool HoldDeactivations { get; init; }

    public Task HeldDeactivations => _releaseDeactivations.Task;

    public void ReleaseDeactivations() => _releaseDeactivations.TrySetResult();

    /// <summary>Ids whose <c>HoldAsync</c> call runs in the app; it returns once <see cref="ReleaseHeldCalls"/> was called.</summary>
    public ConcurrentQueue<string> HeldCalls { get; } = new();

    public Task HeldCallsReleased => _releaseCalls.Task;

    public void ReleaseHeldCalls() => _releaseCalls.TrySetResult();

    /// <summary>Activations of an id while it was already active on another host.</summary>
    public ConcurrentQueue<string> DoubleActivations { get; } = new();

    public int Overlaps => Volatile.Read(ref _overlaps);

    public int MaxInside => Volatile.Read(ref _maxInside);

    /// <summary>The most tracked calls seen running at once, over all actor ids.</summary>
    public int MaxBusy => Volatile.Read(ref _maxBusy);

    /// <summary>Forgets where actors are active (their host process was killed without deactivating them).</summary>
    public void ForgetHost(string host)
    {
        foreach (var (id, on) in _activeOn)
        {
            if (on == host)
            {
                _activeOn.TryRemove(id, out _);
            }
        }
    }

    public void Activated(string id, string host)
    {
        Activations.Enqueue((id, host));
        if (!_activeOn.TryAdd(id, host))
        {
            DoubleActivations.Enqueue($"{id} on {host} while active on {_activeOn[id]}");
        }
    }

    public void Deactivated(string id, string host)
    {
        Deactivations.Enqueue((id, host));
        _activeOn.TryRemove(KeyValuePair.Create(id, host));
    }

    public void Enter(string id)
    {
        var now = _inside.AddOrUpdate(id, 1, (_, n) => n + 1);
        if (now > 1)
        {
            Interlocked.Increment(ref _overlaps);
        }

        int seen;
        while (now > (seen = Volatile.Read(ref _maxInside)) && Interlocked.CompareExchange(ref _maxInside, now, seen) != seen)
        {
        }

        var busy = Interlocked.Increment(ref _busy);
        while (busy > (seen = Volatile.Read(ref _maxBusy)) && Interlocked.CompareExchange(ref _maxBusy, busy, seen) != seen)
        {
        }
    }

    public void Exit(string id)
    {
        Interlocked.Decrement(ref _busy);
        _inside.AddOrUpdate(id, 0, (_, n) => n - 1);
    }
}
