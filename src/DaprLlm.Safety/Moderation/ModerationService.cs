using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Inference;
using DaprLlm.Contracts.Safety;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.Safety.Classification.Policies;
using DaprLlm.Safety.Policies;
using DaprLlm.Safety.Review;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// One moderation check as the service runs it: the tenant's policy, the verdict cache, the engine, human-review
/// escalation for the uncertain band, and telemetry.
/// </summary>
public sealed class ModerationService(
    SafetyEngine engine,
    PolicyStore policies,
    VerdictCache cache,
    IReviewEscalation escalation,
    SafetyTelemetry telemetry,
    DecisionEventPublisher events,
    TimeProvider time,
    ILogger<ModerationService> logger)
{
    /// <summary>One check of a gateway guardrail: <see cref="AssessAsync"/>, then <see cref="CommitAsync"/>.</summary>
    public async Task<(ModerationVerdict Verdict, SafetyAssessment Assessment)> CheckAsync(
        string requestId, string text, ModerationDirection direction, string? tenantId, bool escalate, string? region, CancellationToken cancellationToken,
        IReadOnlyList<ChatMessage>? conversation = null)
    {
        var scored = await AssessAsync(requestId, text, direction, tenantId, escalate ? null : ModerationDecidedV1.WindowStage, cancellationToken, conversation);
        return (await CommitAsync([scored], region, cancellationToken))[0];
    }

    /// <summary>
    /// Scores a text and opens nothing: the verdict cache is read, no review is opened, nothing is cached or published.
    /// A batch scores all its texts first, so one that cannot be scored leaves nothing behind.
    /// </summary>
    /// <param name="stage">The decision event's <see cref="ModerationDecidedV1.Stage"/>: null for a gateway guardrail,
    /// "window" for a stream's window (never escalated), "api" for <c>/v1/moderations</c>.</param>
    public async Task<ScoredCheck> AssessAsync(
        string requestId, string text, ModerationDirection direction, string? tenantId, string? stage, CancellationToken cancellationToken,
        IReadOnlyList<ChatMessage>? conversation = null)
    {
        var started = Stopwatch.GetTimestamp();
        var tenant = string.IsNullOrEmpty(tenantId) ? PolicyStore.DefaultTenant : tenantId;
        var directionName = direction == ModerationDirection.Input ? Review.ReviewDirections.Input : Review.ReviewDirections.Output;
        var window = stage == ModerationDecidedV1.WindowStage;
        using var activity = SafetyTelemetry.StartGuardrail(directionName, tenant);
        var policy = await policies.GetAsync(tenant, cancellationToken);
        // The hash keys the in-memory cache only; it is not put on spans (see SafetyTelemetry.Record).
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        var key = VerdictCache.Key(directionName + (window ? "/window" : ""), tenant, policy.Version, hash);
        if (cache.TryGet(key, out var cached))
        {
            var cachedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            telemetry.Record(activity, cached.Assessment, directionName, tenant, cached: true, cachedMs);
            return new ScoredCheck(requestId, text, tenant, directionName, stage, policy, key, cached.Assessment, cached.Verdict, cachedMs, conversation ?? []);
        }

        SafetyAssessment assessment;
        try
        {
            assessment = await engine.EvaluateAsync(text, direction, policy, cancellationToken);
        }
        catch (EmbeddingsUnavailableException e)
        {
            // Fail closed: no verdict and nothing cached; the route answers 503 and the gateway refuses the request.
            logger.LogWarning("Request {RequestId} not scored, the ML layer's embedding service failed: {Reason}", requestId, e.Message);
            throw;
        }

        // The span and the counters describe the scoring, which happened even if the caller's batch goes no further.
        var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        telemetry.Record(activity, assessment, directionName, tenant, cached: false, elapsedMs);
        return new ScoredCheck(requestId, text, tenant, directionName, stage, policy, key, assessment, null, elapsedMs, conversation ?? []);
    }

    /// <summary>
    /// Acts on scored checks: opens the reviews of the uncertain band, caches the verdicts and publishes the decisions.
    /// Every review is opened before any decision is published, so a failing escalation leaves no event behind; a
    /// review is keyed by its check's request id, so a retry with the same ids finds the items already opened.
    /// </summary>
    public async Task<IReadOnlyList<(ModerationVerdict Verdict, SafetyAssessment Assessment)>> CommitAsync(
        IReadOnlyList<ScoredCheck> checks, string? region, CancellationToken cancellationToken)
    {
        var reviewIds = new string?[checks.Count];
        var latencyMs = new double[checks.Count];
        for (var i = 0; i < checks.Count; i++)
        {
            var check = checks[i];
            var started = Stopwatch.GetTimestamp();
            if (check.CachedVerdict is null && check.Assessment.Decision == Decisions.Review && check.Stage != ModerationDecidedV1.WindowStage)
            {
                reviewIds[i] = await escalation.EscalateAsync(
                    ToEscalation(check.RequestId, check.Tenant, check.Direction, check.Text, check.Assessment, check.Conversation), cancellationToken);
                logger.LogInformation("Request {RequestId} sent to human review {ReviewId} ({Category})", check.RequestId, reviewIds[i], check.Assessment.TopCategory);
            }

            latencyMs[i] = check.LatencyMs + Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        var results = new (ModerationVerdict, SafetyAssessment)[checks.Count];
        for (var i = 0; i < checks.Count; i++)
        {
            var check = checks[i];
            if (check.CachedVerdict is { } cached)
            {
                await PublishAsync(ToEvent(check, region, latencyMs[i], cached.ReviewId, cached: true));
                results[i] = (cached with { Cached = true }, check.Assessment);
                continue;
            }

            var assessment = check.Assessment;
            var verdict = new ModerationVerdict(
                assessment.Decision,
                assessment.Reasons,
                assessment.PolicyVersion,
                assessment.Scores,
                [.. assessment.Rules.Hits.Select(h => $"{h.Kind}:{h.Name}")],
                [.. assessment.Rules.Pii.Select(p => new PiiSpan(p.EntityType, p.Span.Start, p.Span.End))],
                reviewIds[i]);
            // A review verdict names its own review item, so it is not reused for a later request with the same text.
            if (reviewIds[i] is null)
            {
                cache.Set(check.CacheKey, new CachedCheck(verdict, assessment));
            }

            await PublishAsync(ToEvent(check, region, latencyMs[i], reviewIds[i], cached: false));
            results[i] = (verdict, assessment);
        }

        return results;
    }

    // A stream's windows are checked as it is generated: one event per window counted every window as an output
    // decision in reports and a flagged one as an extra alert trigger. An allowing window is not a decision; one that
    // stops the stream is, once, marked as a window.
    private async Task PublishAsync(ModerationDecidedV1 decided)
    {
        if (decided.Stage == ModerationDecidedV1.WindowStage && decided.Action == Decisions.Allow)
        {
            return;
        }

        await events.TryEnqueueAsync(decided);
    }

    private ModerationDecidedV1 ToEvent(ScoredCheck check, string? region, double latencyMs, string? reviewId, bool cached)
    {
        var (assessment, policy) = (check.Assessment, check.Policy);
        // Only the categories that reached their allow threshold: the ones that routed the text somewhere.
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (category, score) in assessment.Scores)
        {
            if (policy.Categories.TryGetValue(category, out var thresholds) && score >= thresholds.Allow)
            {
                scores[category] = Math.Round(score, 6);
            }
        }

        var ruleHits = new List<string>(assessment.Rules.Hits.Count);
        foreach (var hit in assessment.Rules.Hits)
        {
            var id = $"{hit.Kind}:{hit.Name}";
            if (!ruleHits.Contains(id))
            {
                ruleHits.Add(id);
            }
        }

        var piiTypes = new List<string>();
        foreach (var entity in assessment.Rules.Pii)
        {
            if (!piiTypes.Contains(entity.EntityType))
            {
                piiTypes.Add(entity.EntityType);
            }
        }

        return new ModerationDecidedV1(
            check.RequestId, check.Tenant, region, check.Direction, assessment.Decision, assessment.TopCategory, scores, ruleHits, piiTypes,
            assessment.PolicyVersion, Math.Round(latencyMs, 3), reviewId, cached, time.GetUtcNow(), check.Stage);
    }

    private static ReviewEscalation ToEscalation(
        string requestId, string tenant, string direction, string text, SafetyAssessment assessment, IReadOnlyList<ChatMessage> conversation) =>
        new(tenant, requestId, direction, text,
            assessment.Scores,
            [.. assessment.Rules.Hits.Select(h => $"{h.Kind}:{h.Name}")],
            ReviewSeverity.Of(assessment.CategoryDecisions),
            assessment.PolicyVersion,
            conversation);
}

/// <summary>A text scored by <see cref="ModerationService.AssessAsync"/> and not yet acted on.</summary>
/// <param name="CachedVerdict">The verdict cache's answer, when the text was not scored afresh.</param>
/// <param name="LatencyMs">Time of the scoring.</param>
public sealed record ScoredCheck(
    string RequestId,
    string Text,
    string Tenant,
    string Direction,
    string? Stage,
    SafetyPolicy Policy,
    string CacheKey,
    SafetyAssessment Assessment,
    ModerationVerdict? CachedVerdict,
    double LatencyMs,
    IReadOnlyList<ChatMessage> Conversation);
