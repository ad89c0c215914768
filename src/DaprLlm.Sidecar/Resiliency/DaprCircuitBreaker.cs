using Polly;

namespace DaprLlm.Sidecar.Resiliency;

/// <summary>
/// A circuit breaker with daprd's semantics (sony/gobreaker): counts per generation, a trip expression
/// over those counts in the closed state, <c>timeout</c> in the open state, then half-open letting
/// <c>maxRequests</c> calls through; that many consecutive successes close it, any failure reopens it.
/// Polly's own breaker works on failure ratios and cannot express trip conditions, hence this strategy.
/// </summary>
public sealed class DaprCircuitBreaker : ResilienceStrategy
{
    private readonly CircuitBreakerSpec _spec;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _target;
    private readonly Lock _gate = new();
    private BreakerState _state = BreakerState.Closed;
    private long _generation;
    private BreakerCounts _counts;
    private DateTimeOffset? _expiry;

    public DaprCircuitBreaker(CircuitBreakerSpec spec, string target, TimeProvider time, ILogger logger)
    {
        _spec = spec;
        _target = target;
        _time = time;
        _logger = logger;
        NewGeneration(time.GetUtcNow());
    }

    public enum BreakerState
    {
        Closed,
        Open,
        HalfOpen,
    }

    public BreakerState State
    {
        get
        {
            lock (_gate)
            {
                return CurrentState(_time.GetUtcNow());
            }
        }
    }

    protected override async ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback, ResilienceContext context, TState state)
    {
        long generation;
        lock (_gate)
        {
            var current = CurrentState(_time.GetUtcNow());
            if (current == BreakerState.Open)
            {
                return Outcome.FromException<TResult>(new CircuitBreakerOpenException());
            }

            if (current == BreakerState.HalfOpen && _counts.Requests >= _spec.MaxRequests)
            {
                return Outcome.FromException<TResult>(new CircuitBreakerOpenException("too many requests"));
            }

            _counts = _counts with { Requests = _counts.Requests + 1 };
            generation = _generation;
        }

        var outcome = await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);

        // A call abandoned by its caller says nothing about the target's health.
        var abandoned = outcome.Exception is OperationCanceledException && context.CancellationToken.IsCancellationRequested;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            CurrentState(now);
            if (generation == _generation && !abandoned)
            {
                if (outcome.Exception is null)
                {
                    OnSuccess(now);
                }
                else
                {
                    OnFailure(now);
                }
            }
        }

        return outcome;
    }

    private void OnSuccess(DateTimeOffset now)
    {
        _counts = _counts with
        {
            TotalSuccesses = _counts.TotalSuccesses + 1,
            ConsecutiveSuccesses = _counts.ConsecutiveSuccesses + 1,
            ConsecutiveFailures = 0,
        };
        if (_state == BreakerState.HalfOpen && _counts.ConsecutiveSuccesses >= _spec.MaxRequests)
        {
            SetState(BreakerState.Closed, now);
        }
    }

    private void OnFailure(DateTimeOffset now)
    {
        _counts = _counts with
        {
            TotalFailures = _counts.TotalFailures + 1,
            ConsecutiveFailures = _counts.ConsecutiveFailures + 1,
            ConsecutiveSuccesses = 0,
        };
        if (_state == BreakerState.HalfOpen || (_state == BreakerState.Closed && _spec.Trip.Evaluate(_counts)))
        {
            SetState(BreakerState.Open, now);
        }
    }

    private BreakerState CurrentState(DateTimeOffset now)
    {
        if (_state == BreakerState.Closed && _expiry is { } reset && reset < now)
        {
            NewGeneration(now);
        }
        else if (_state == BreakerState.Open && _expiry is { } halfOpenAt && halfOpenAt < now)
        {
            SetState(BreakerState.HalfOpen, now);
        }

        return _state;
    }

    private void SetState(BreakerState state, DateTimeOffset now)
    {
        if (_state == state)
        {
            return;
        }

        _logger.LogInformation("Circuit breaker {Breaker} for {Target} changed state from {From} to {To}", _spec.Name, _target, _state, state);
        _state = state;
        NewGeneration(now);
    }

    private void NewGeneration(DateTimeOffset now)
    {
        _generation++;
        _counts = default;
        _expiry = _state switch
        {
            BreakerState.Closed => _spec.Interval > TimeSpan.Zero ? now + _spec.Interval : null,
            BreakerState.Open => now + _spec.Timeout,
            _ => null,
        };
    }
}
