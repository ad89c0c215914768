using Polly;

namespace DaprLlm.Sidecar.Resiliency;

/// <summary>
/// The Resiliency resources of this app id, as Polly pipelines per target (daprd's spec.targets). A target
/// without a policy gets <see cref="ResiliencePipeline.Empty"/>. Callers signal a retryable outcome that is
/// not an exception (a 5xx, a RETRY answer) by throwing <see cref="TransientFailureException"/>.
/// The sidecar is the single owner of retries for calls it makes.
/// </summary>
public interface IResiliencyPolicies
{
    /// <summary>Service invocation to <paramref name="appId"/> (targets.apps).</summary>
    ResiliencePipeline App(string appId);

    /// <summary>Calls from the app to a component (targets.components.NAME.outbound).</summary>
    ResiliencePipeline ComponentOutbound(string componentName);

    /// <summary>Deliveries from a component to the app, e.g. pub/sub messages (targets.components.NAME.inbound).</summary>
    ResiliencePipeline ComponentInbound(string componentName);

    /// <summary>Actor method calls and reminders of <paramref name="actorType"/> (targets.actors).</summary>
    ResiliencePipeline Actor(string actorType);
}

/// <summary>A failed outcome that a retry policy may retry (5xx answer, RETRY status...).</summary>
public sealed class TransientFailureException(string message, Exception? inner = null) : Exception(message, inner)
{
    public TransientFailureException()
        : this("transient failure")
    {
    }
}

/// <summary>No Resiliency resources: every target runs its call once.</summary>
public sealed class NoResiliencyPolicies : IResiliencyPolicies
{
    public ResiliencePipeline App(string appId) => ResiliencePipeline.Empty;

    public ResiliencePipeline ComponentOutbound(string componentName) => ResiliencePipeline.Empty;

    public ResiliencePipeline ComponentInbound(string componentName) => ResiliencePipeline.Empty;

    public ResiliencePipeline Actor(string actorType) => ResiliencePipeline.Empty;
}
