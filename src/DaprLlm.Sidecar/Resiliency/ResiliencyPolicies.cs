using System.Collections.Concurrent;
using DaprLlm.Sidecar.Components;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace DaprLlm.Sidecar.Resiliency;

/// <summary>
/// <see cref="IResiliencyPolicies"/> built from this app's Resiliency resources. One pipeline (and so one
/// circuit breaker) per target, built on first use and kept. Order as in daprd: retries outermost, then
/// the circuit breaker, then the timeout of each attempt. Targets not listed fall back to daprd's default
/// policies (DefaultAppRetryPolicy, DefaultRetryPolicy, ...) when those are defined.
/// </summary>
public sealed class ResiliencyPolicies : IResiliencyPolicies
{
    private readonly ComponentRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger<ResiliencyPolicies> _logger;
    private readonly Lazy<ResiliencySpec> _spec;
    private readonly ConcurrentDictionary<string, ResiliencePipeline> _pipelines = new(StringComparer.Ordinal);

    // Looked up on every service invocation: keyed by the bare app id, so a hit builds no key string.
    private readonly ConcurrentDictionary<string, ResiliencePipeline> _apps = new(StringComparer.Ordinal);

    public ResiliencyPolicies(ComponentRegistry registry, TimeProvider time, ILogger<ResiliencyPolicies> logger)
    {
        _registry = registry;
        _time = time;
        _logger = logger;
        _spec = new Lazy<ResiliencySpec>(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The merged, validated resources; throws <see cref="ComponentConfigException"/> naming the file when one is invalid.</summary>
    public ResiliencySpec Spec => _spec.Value;

    public ResiliencePipeline App(string appId) =>
        _apps.TryGetValue(appId, out var pipeline) ? pipeline : _apps.GetOrAdd(appId, Get("apps", appId, Spec.Apps, ["App"]));

    public ResiliencePipeline ComponentOutbound(string componentName) =>
        Get("components-outbound", componentName, Spec.ComponentsOutbound, ["ComponentOutbound", "Component"]);

    public ResiliencePipeline ComponentInbound(string componentName) =>
        Get("components-inbound", componentName, Spec.ComponentsInbound, ["ComponentInbound", "Component"]);

    public ResiliencePipeline Actor(string actorType) => Get("actors", actorType, Spec.Actors, ["Actor"]);

    /// <summary>True when a retry policy applies to calls to <paramref name="appId"/> (the request body must then be replayable).</summary>
    public bool AppHasRetries(string appId) => Names(appId, Spec.Apps, ["App"]).Retry is { } retry && Spec.Retries[retry].MaxRetries != 0;

    private ResiliencySpec Load()
    {
        var documents = _registry.Documents("Resiliency");
        var spec = ResiliencySpec.Parse(documents);
        foreach (var doc in documents)
        {
            _logger.LogInformation("Resiliency configuration loaded: {Name} ({File})", doc.Name, doc.SourceFile);
        }

        return spec;
    }

    private ResiliencePipeline Get(string kind, string target, Dictionary<string, TargetPolicyNames> targets, string[] defaultKinds) =>
        _pipelines.GetOrAdd($"{kind}/{target}", _ => Build($"{kind}/{target}", Names(target, targets, defaultKinds)));

    private TargetPolicyNames Names(string target, Dictionary<string, TargetPolicyNames> targets, string[] defaultKinds)
    {
        if (targets.TryGetValue(target, out var names))
        {
            return names;
        }

        string? Default<T>(Dictionary<string, T> policies, string policyKind) =>
            defaultKinds.Append("").Select(k => $"Default{k}{policyKind}Policy").FirstOrDefault(policies.ContainsKey);
        return new TargetPolicyNames(Default(Spec.Timeouts, "Timeout"), Default(Spec.Retries, "Retry"), Default(Spec.CircuitBreakers, "CircuitBreaker"));
    }

    private ResiliencePipeline Build(string target, TargetPolicyNames names)
    {
        if (names is { Timeout: null, Retry: null, CircuitBreaker: null })
        {
            return ResiliencePipeline.Empty;
        }

        var builder = new ResiliencePipelineBuilder { Name = target, TimeProvider = _time };
        if (names.Retry is { } retryName && Spec.Retries[retryName] is { MaxRetries: not 0 } retry)
        {
            builder.AddRetry(RetryOptions(retry, target));
        }

        if (names.CircuitBreaker is { } breakerName)
        {
            var breaker = new DaprCircuitBreaker(Spec.CircuitBreakers[breakerName], target, _time, _logger);
            builder.AddStrategy(_ => breaker, new BreakerStrategyOptions());
        }

        if (names.Timeout is { } timeoutName && Spec.Timeouts[timeoutName] is var timeout && timeout > TimeSpan.Zero)
        {
            // Polly's floor is 10 ms; daprd timeouts are never meant to be shorter.
            builder.AddTimeout(new TimeoutStrategyOptions { Timeout = timeout < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : timeout });
        }

        _logger.LogInformation("Resiliency policies for {Target}: timeout={Timeout} retry={Retry} circuitBreaker={CircuitBreaker}",
            target, names.Timeout, names.Retry, names.CircuitBreaker);
        return builder.Build();
    }

    private RetryStrategyOptions RetryOptions(RetryPolicySpec retry, string target)
    {
        var options = new RetryStrategyOptions
        {
            MaxRetryAttempts = retry.MaxRetries < 0 ? int.MaxValue : retry.MaxRetries,
            BackoffType = DelayBackoffType.Constant,
            Delay = retry.Exponential ? TimeSpan.Zero : Clamp(retry.Duration),
            UseJitter = false,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception switch
            {
                null => false,

                // An open breaker is permanent for this call (daprd stops retrying too).
                CircuitBreakerOpenException => false,
                StatusCodeFailureException status => retry.HttpStatusCodes?.Contains(status.StatusCode) ?? true,
                OperationCanceledException when args.Context.CancellationToken.IsCancellationRequested => false,
                _ => true,
            }),
            OnRetry = args =>
            {
                _logger.LogWarning("Error processing operation {Target}. Retrying in {Delay}: {Error}", target, args.RetryDelay, args.Outcome.Exception?.Message);
                return ValueTask.CompletedTask;
            },
        };
        if (retry.Exponential)
        {
            // cenkalti/backoff as daprd configures it: 500 ms initial interval, x1.5, +/-50 % jitter, capped at maxInterval.
            options.DelayGenerator = args =>
            {
                var interval = Math.Min(500 * Math.Pow(1.5, Math.Min(args.AttemptNumber, 60)), retry.MaxInterval.TotalMilliseconds);
                var jittered = interval * (1 + ((Random.Shared.NextDouble() * 2) - 1) * 0.5);
                return ValueTask.FromResult<TimeSpan?>(Clamp(TimeSpan.FromMilliseconds(Math.Min(jittered, retry.MaxInterval.TotalMilliseconds))));
            };
        }

        return options;
    }

    private static TimeSpan Clamp(TimeSpan delay) => delay > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : delay;

    private sealed class BreakerStrategyOptions : ResilienceStrategyOptions
    {
        public BreakerStrategyOptions() => Name = "dapr-circuit-breaker";
    }
}
