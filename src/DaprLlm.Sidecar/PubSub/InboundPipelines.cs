using System.Collections.Concurrent;
using DaprLlm.Sidecar.Resiliency;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// The retry policy of deliveries from a pub/sub component to the app. A Resiliency policy for the component's
/// inbound target (IResiliencyPolicies.ComponentInbound) wins. Without one, the component metadata decides, with the
/// names components-contrib uses for its own retries: <c>backOffMaxRetries</c> (default 3; -1 retries forever,
/// 0 tries once), <c>backOffPolicy</c> (<c>exponential</c>, the default, or <c>constant</c>),
/// <c>backOffDuration</c> (constant delay, default 5s), <c>backOffInitialInterval</c> (default 500ms) and
/// <c>backOffMaxInterval</c> (default 60s) for exponential backoff.
/// </summary>
public sealed class InboundPipelines(IResiliencyPolicies policies)
{
    private readonly ConcurrentDictionary<string, ResiliencePipeline> _defaults = new(StringComparer.Ordinal);

    /// <summary>The pipeline for deliveries of <paramref name="pubsub"/>, and whether it comes from a Resiliency resource (it may then time out).</summary>
    public (ResiliencePipeline Pipeline, bool FromResiliency) For(IPubSub pubsub)
    {
        var configured = policies.ComponentInbound(pubsub.Spec.Name);
        return !ReferenceEquals(configured, ResiliencePipeline.Empty)
            ? (configured, true)
            : (_defaults.GetOrAdd(pubsub.Spec.Name, _ => BuildDefault(pubsub)), false);
    }

    private static ResiliencePipeline BuildDefault(IPubSub pubsub)
    {
        var spec = pubsub.Spec;
        var maxRetries = spec.GetInt("backOffMaxRetries", 3);
        if (maxRetries == 0)
        {
            return ResiliencePipeline.Empty;
        }

        var constant = spec.GetOrDefault("backOffPolicy", "exponential").Equals("constant", StringComparison.OrdinalIgnoreCase);
        return new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<TransientFailureException>().Handle<HttpRequestException>().Handle<TimeoutRejectedException>(),
            MaxRetryAttempts = maxRetries < 0 ? int.MaxValue : maxRetries,
            BackoffType = constant ? DelayBackoffType.Constant : DelayBackoffType.Exponential,
            Delay = constant ? spec.GetDuration("backOffDuration", TimeSpan.FromSeconds(5)) : spec.GetDuration("backOffInitialInterval", TimeSpan.FromMilliseconds(500)),
            MaxDelay = spec.GetDuration("backOffMaxInterval", TimeSpan.FromSeconds(60)),
            UseJitter = false,
        }).Build();
    }
}
