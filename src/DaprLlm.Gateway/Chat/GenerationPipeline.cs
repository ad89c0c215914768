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
public sealed partial class GenerationPipeline(SafetyClient safety, InferenceClient inference, InferenceRouter router, ModelCircuitBreaker breaker, AuditPublisher audit,
    Review.ReviewWebhooks webhooks, TimeProvider time, ILogger<GenerationPipeline> logger)
{
    public Task<SafetyVerdict> CheckInputAsync(GenerationContext g, CancellationToken ct) =>
        safety.ModerateInputAsync(new ModerationRequest(g.RequestId, g.Prompt, g.Caller.TenantId, g.Caller.Tenant.HomeRegion, g.Messages), ct);

    public Task<SafetyVerdict> CheckOutputAsync(GenerationContext g, string text, CancellationToken ct) =>
        safety.ModerateOutputAsync(new ModerationRequest(g.RequestId, text, g.Caller.TenantId, g.Caller.Tenant.HomeRegion, g.Messages), ct);

    /// <summary>
    /// The output check of a whole generated answer. A client that leaves during it still gets its request.completed:
    /// the generated tokens are charged (as a stream's disconnect charges them) and the event, recorded as cancelled,
    /// names the same counts.
    /// </summary>
    public async Task<SafetyVerdict> CheckOutputAsync(GenerationContext g, SafetyVerdict input, GenerationResult generation, string region, CancellationToken ct)
    {
        try
        {
            return await CheckOutputAsync(g, generation.Text, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            g.Ticket.Settle(generation.PromptTokens + generation.CompletionTokens);
            Publish(g, RequestCompletedV1.Outcomes.Failed, "cancelled", generation.PromptTokens, generation.CompletionTokens, input.Decision, null, region, generation.Text);
            throw;
        }
    }

    public Task<SafetyVerdict> CheckOutputWindowAsync(GenerationContext g, string text, CancellationToken ct) =>
        safety.ModerateOutputWindowAsync(new ModerationRequest(g.RequestId, text, g.Caller.TenantId, g.Caller.Tenant.HomeRegion, g.Messages), ct);

    /// <summary>Generates on the first healthy replica of the tenant's regions (home first).</summary>
    public async Task<(GenerationResult Result, string Region)> GenerateAsync(GenerationContext g, CancellationToken ct)
    {
        var failures = new List<UpstreamException>();
        foreach (var (region, appId) in Candidates(g))
        {
            try
            {
                var result = await inference.GenerateAsync(appId, Call(g), ct);
                breaker.Success(g.Model);
                g.Route = appId;
                return (result, region);
            }
            catch (UpstreamException e) when (e.TimedOut)
            {
                // The replica took the generation and hung until the resiliency timeout cut it ("context deadline
                // exceeded"). Not sent to another region: generation is not idempotent and timeouts are Dapr
                // resiliency's (STYLE rule 8); and a success elsewhere would close the breaker, so every request would
                // wait out the timeout on the hung replica first. The client gets 504; the model's breaker counts it.
                breaker.Failure(g.Model);
                throw;
            }
            catch (UpstreamException e) when (IsUnavailable(e))
            {
                failures.Add(e);
            }
        }

        throw NoReplica(g, failures);
    }

    /// <summary>Opens a stream on the first healthy replica; failover happens only before the first event.</summary>
    public async Task<(IAsyncEnumerator<GenerateStreamEvent> Events, string Region)> OpenStreamAsync(GenerationContext g, CancellationToken ct)
    {
        var failures = new List<UpstreamException>();
        foreach (var (region, appId) in Candidates(g))
        {
            var events = inference.StreamAsync(appId, Call(g), ct).GetAsyncEnumerator(ct);
            try
            {
                if (await events.MoveNextAsync())
                {
                    breaker.Success(g.Model);
                    g.Route = appId;
                    return (new Prefetched(events), region);
                }

                await events.DisposeAsync();
                failures.Add(new UpstreamException(appId, 502, "inference stream ended without events"));
            }
            catch (UpstreamException e) when (e.TimedOut)
            {
                // As in GenerateAsync: a hung replica's stream is not opened again elsewhere.
                await events.DisposeAsync();
                breaker.Failure(g.Model);
                throw;
            }
            catch (UpstreamException e) when (IsUnavailable(e))
            {
                await events.DisposeAsync();
                failures.Add(e);
            }
        }

        throw NoReplica(g, failures);
    }

    public void Publish(GenerationContext g, string outcome, string? finishReason, int promptTokens, int completionTokens,
        string? inputDecision, string? outputDecision, string? region, string? completion) =>
        audit.Enqueue(new RequestCompletedV1(g.RequestId, g.Model, outcome, finishReason, promptTokens, completionTokens, inputDecision,
            outputDecision, Activity.Current?.TraceId.ToString(), time.GetUtcNow(), g.Caller.TenantId, region, g.Caller.KeyId, g.User,
            g.Prompt, completion, g.Cache, g.Route, g.FallbackUsed ? g.Model : null, g.CachedTokens));

    /// <summary>When safety opened a review and the client gave a webhook, remembers it for the decision.</summary>
    /// <summary>
    /// Keeps the client's webhook for a review the verdict opened. Best effort: the answer (a refusal naming the
    /// review, which GET /v1/reviews/{id} tracks) matters more than the callback, and was already recorded.
    /// </summary>
    public async Task RememberReviewAsync(GenerationContext g, SafetyVerdict? verdict, CancellationToken ct)
    {
        if (verdict is not { IsReview: true, ReviewId: { } reviewId } || g.ReviewWebhook is not { } url)
        {
            return;
        }

        try
        {
            await webhooks.RememberAsync(reviewId, url, g.Caller.TenantId, g.RequestId, ct);
        }
        catch (Exception e) when (e is Dapr.DaprException or Grpc.Core.RpcException or HttpRequestException)
        {
            LogWebhookNotKept(logger, reviewId, g.RequestId, e.GetType().Name);
        }
    }

    [LoggerMessage(LogLevel.Warning, "The webhook for review {ReviewId} (request {RequestId}) was not kept ({Error}); the client can poll the review")]
    private static partial void LogWebhookNotKept(ILogger logger, string reviewId, string requestId, string error);

    /// <summary>request.received, once the gateway knows how it serves the request (cache result, region).</summary>
    public void Received(GenerationContext g, string? region) =>
        audit.Enqueue(new RequestReceivedV1(g.RequestId, g.Caller.TenantId, g.Caller.KeyId, g.User, g.RequestedModel, g.Model, region, g.Cache,
            g.FallbackUsed, g.ApiVersion, time.GetUtcNow(), Activity.Current?.TraceId.ToString()));

    /// <summary>The region a generation will try first (the tenant's home region when it has a replica).</summary>
    public string? PlannedRegion(GenerationContext g) => router.Candidates(g.Caller.Tenant) is { Count: > 0 } c ? c[0].Region : null;

    private IReadOnlyList<(string Region, string AppId)> Candidates(GenerationContext g)
    {
        var candidates = router.Candidates(g.Caller.Tenant);
        return candidates.Count > 0
            ? candidates
            : throw new ResidencyException($"No inference region is configured for your allowed regions ({string.Join(", ", g.Caller.Tenant.AllowedRegions)}).");
    }

    private static GenerateCall Call(GenerationContext g) =>
        new(g.RequestId, g.Model, g.Messages, g.MaxTokens, g.Temperature, g.Seed, g.TopP, null, g.Stop,
            g.Controls.PresencePenalty, g.Controls.FrequencyPenalty, g.Controls.LogitBias);

    // Transport failures and 5xx other than an overload answer move on to the next allowed region (a timeout, caught
    // before this, does not).
    private static bool IsUnavailable(UpstreamException e) => e.StatusCode is null or 500 or 502 or 504;

    // The replica was not reached at all (no connection, or the sidecar could not invoke it: ERR_DIRECT_INVOKE),
    // as opposed to a replica that answered with a failure of its own. A call cut by the resiliency timeout
    // ("context deadline exceeded") reached a replica that hung: a backend failure, not a residency one.
    private static bool IsUnreachable(UpstreamException e) =>
        e.StatusCode is null || (e.StatusCode == 500 && e.Body is { } body && body.Contains("ERR_DIRECT_INVOKE", StringComparison.Ordinal) && !e.TimedOut);

    private Exception NoReplica(GenerationContext g, List<UpstreamException> failures)
    {
        // Residency is the reason only when no allowed replica could be reached; a backend that answered with a
        // failure is an upstream error, whatever region it is in.
        if (failures.TrueForAll(IsUnreachable))
        {
            // Not the model's failure but this tenant's regions': the breaker is per model, so counting it would send
            // every tenant (those with a healthy replica elsewhere too) to the fallback model; nor would a fallback
            // help, as it runs on the same unreachable replicas.
            return new ResidencyException($"No inference replica in your allowed regions ({string.Join(", ", g.Caller.Tenant.AllowedRegions)}) is reachable. The request was not sent to any other region.");
        }

        breaker.Failure(g.Model);
        return new BackendFailedException(g.Model);
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

/// <summary>No replica in the tenant's allowed regions could be reached.</summary>
public sealed class ResidencyException(string message) : Exception(message);

/// <summary>The allowed replicas were reached but the model backend failed to generate.</summary>
public sealed class BackendFailedException(string model) : Exception($"The model backend for '{model}' failed to answer.")
{
    public string Model { get; } = model;
}
