namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>A gateway with one place per model for generation, a queue of two per model, and a fast circuit breaker with a fallback model.</summary>
public sealed class TightGateway : SingleGateway
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Admission:MaxInFlight"] = "1",
        ["Admission:MaxQueued"] = "2",
        ["Admission:MaxWait"] = "00:00:30",
        ["Routing:Fallbacks:daprllm-large"] = "daprllm-demo",
        ["Routing:BreakerFailures"] = "2",
        ["Routing:BreakerOpenFor"] = "00:00:01",
    };
}
