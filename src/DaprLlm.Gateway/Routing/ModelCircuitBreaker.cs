using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Routing;

/// <summary>
/// One breaker per model backend: after <see cref="RoutingOptions.BreakerFailures"/> consecutive failures it opens for
/// <see cref="RoutingOptions.BreakerOpenFor"/>, and requests for that model go to its configured fallback (same or
/// lower tier). After the open time one request tries the model again (half-open); a success closes the breaker. A probe
/// that reports neither (cancelled by its client, or refused as overloaded) does not hold the breaker open for ever:
/// another probe is let through once the open time has passed again.
/// </summary>
public sealed class ModelCircuitBreaker(IOptions<RoutingOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, State> _states = new();

    /// <summary>The model to use: the asked one, or its fallback while its breaker is open.</summary>
    public string Route(string model)
    {
        var state = _states.GetOrAdd(model, _ => new State());
        lock (state)
        {
            if (state.OpenUntil is not { } until)
            {
                return model;
            }

            var now = time.GetUtcNow();
            if (now >= until && (!state.Probing || now >= state.ProbeStartedAt + options.Value.BreakerOpenFor))
            {
                state.Probing = true; // half-open: this request tries the model again
                state.ProbeStartedAt = now;
                return model;
            }

            return options.Value.Fallbacks.TryGetValue(model, out var fallback) ? fallback : model;
        }
    }

    public void Success(string model)
    {
        if (_states.TryGetValue(model, out var state))
        {
            lock (state)
            {
                state.Failures = 0;
                state.OpenUntil = null;
                state.Probing = false;
            }
        }
    }

    public void Failure(string model)
    {
        var state = _states.GetOrAdd(model, _ => new State());
        lock (state)
        {
            state.Failures++;
            if (state.Probing || state.Failures >= options.Value.BreakerFailures)
            {
                state.OpenUntil = time.GetUtcNow() + options.Value.BreakerOpenFor;
                state.Probing = false;
            }
        }
    }

    private sealed class State
    {
        public int Failures { get; set; }

        public DateTimeOffset? OpenUntil { get; set; }

        public bool Probing { get; set; }

        public DateTimeOffset ProbeStartedAt { get; set; }
    }
}
