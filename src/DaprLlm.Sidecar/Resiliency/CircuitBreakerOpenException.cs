namespace DaprLlm.Sidecar.Resiliency;

/// <summary>The call was refused because the circuit breaker is open (or half-open and busy), as daprd reports it.</summary>
public sealed class CircuitBreakerOpenException(string message) : Exception(message)
{
    public CircuitBreakerOpenException()
        : this("circuit breaker is open")
    {
    }

    public CircuitBreakerOpenException(string message, Exception inner)
        : this(message + ": " + inner.Message)
    {
    }
}
