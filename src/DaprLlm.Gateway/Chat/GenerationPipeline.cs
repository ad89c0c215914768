using System.Diagnostics;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Inference;
using DaprLlm.Contracts.Safety;
using DaprLlm.Gateway.Audit;
using DaprLlm.Gateway.Routing;
using DaprLlm.Gateway.Upstream;

namespace DaprLlm.Gateway.Chat;

/// <summary>
/// The hops of one generation, shared by chat and text completions: input moderation (safety), generation on an
/// inference replica the tenant may use (residency), output moderation (safety) and the audit event.
/// </summary>
public sealed class GenerationPipeline(SafetyClient safety, InferenceClient inference, InferenceRouter router, ModelCircuitBreaker breaker, AuditPublisher audit, TimeProvider time)
{
    public Task<SafetyVerdict> CheckInputAsync(GenerationContext g, CancellationToken ct) =>
        safety.ModerateInputAsync(new ModerationRequest(g.RequestId, g.Prompt), ct);

    public Task<SafetyVerdict> CheckOutputAsync(GenerationContext g, string text, CancellationToken ct) =>
        safety.ModerateOutputAsync(new ModerationRequest(g.RequestId, text), ct);

    /// <summary>Generates on the first healthy replica of the tenant's regions (home first).</summary>
    public async Task<(GenerationResult Result, string Region)> GenerateAsync(GenerationContext g, CancellationToken ct)
    {
        UpstreamException? last = null;
        foreach (var (region, appId) in Candidates(g))
        {
            try
            {
                var result = await inference.GenerateAsync(appId, Call(g), ct);
                breaker.Success(g.Model);
                return (result, region);
            }
            catch (UpstreamException e) when (IsUnavailable(e))
            {
                last = e;
            }
        }

        throw NoReplica(g, last);
    }

    /// <summary>Opens a stream on the first healthy replica; failover happens only before the first event.</summary>
    public async Task<(IAsyncEnumerator<GenerateStreamEvent> Events, string Region)> OpenStreamAsync(GenerationContext g, CancellationToken ct)
    {
        UpstreamException? last = null;
        foreach (var (region, appId) in Candidates(g))
        {
            var events = inference.StreamAsync(appId, Call(g), ct).GetAsyncEnumerator(ct);
            try
            {
                if (await events.MoveNextAsync())
                {
                    breaker.Success(g.Model);
                    return (new Prefetched(events), region);
                }

                await events.DisposeAsync();
                last = new UpstreamException(appId, 200, "inference stream ended without events");
            }
            catch (UpstreamException e) when (IsUnavailable(e))
            {
                await events.DisposeAsync();
                last = e;
            }
        }

        throw NoReplica(g, last);
    }

    public void Publish(GenerationContext g, string outcome, string? finishReason, int promptTokens, int completionTokens,
        string? inputDecision, string? outputDecision, string? region, string? completion) =>
        audit.Enqueue(new RequestCompletedV1(g.RequestId, g.Model, outcome, finishReason, promptTokens, completionTokens, inputDecision,
            outputDecision, Activity.Current?.TraceId.ToString(), time.GetUtcNow(), g.Caller.TenantId, region, g.Caller.KeyId, g.User,
            g.Prompt, completion));

    private IReadOnlyList<(string Region, string AppId)> Candidates(GenerationContext g)
    {
        var candidates = router.Candidates(g.Caller.Tenant);
        return candidates.Count > 0
            ? candidates
            : throw new ResidencyException($"No inference region is configured for your allowed regions ({string.Join(", ", g.Caller.Tenant.AllowedRegions)}).");
    }

    private static GenerateCall Call(GenerationContext g) =>
        new(g.RequestId, g.Model, g.Messages, g.MaxTokens, g.Temperature, g.Seed, g.TopP, null, g.Stop);

    // Transport failures and 5xx other than an overload answer move on to the next allowed region.
    private static bool IsUnavailable(UpstreamException e) => e.StatusCode is null or 500 or 502 or 504;

    private ResidencyException NoReplica(GenerationContext g, UpstreamException? last)
    {
        if (last is { StatusCode: 429 or 503 } overloaded)
        {
            throw overloaded;
        }

        breaker.Failure(g.Model);
        return new ResidencyException($"No inference replica in your allowed regions ({string.Join(", ", g.Caller.Tenant.AllowedRegions)}) is available. The request was not sent to any other region.");
    }

    /// <summary>Gives back the event already read while probing the replica, then the rest.</summary>
    private sealed class Prefetched(IAsyncEnumerator<GenerateStreamEvent> inner) : IAsyncEnumerator<GenerateStreamEvent>
    {
        private bool _first = true;

        public GenerateStreamEvent Current => inner.Current;

        public ValueTask<bool> MoveNextAsync()
        {
            if (_first)
            {
                _first = false;
                return ValueTask.FromResult(true);
            }

            return inner.MoveNextAsync();
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>No replica in the tenant's allowed regions could serve the request.</summary>
public sealed class ResidencyException(string message) : Exception(message);
