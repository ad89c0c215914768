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
    public async Task<(ModerationVerdict Verdict, SafetyAssessment Assessment)> CheckAsync(
        string requestId, string text, ModerationDirection direction, string? tenantId, bool escalate, string? region, CancellationToken cancellationToken,
        IReadOnlyList<ChatMessage>? conversation = null)
    {
        var started = Stopwatch.GetTimestamp();
        var tenant = string.IsNullOrEmpty(tenantId) ? PolicyStore.DefaultTenant : tenantId;
        var directionName = direction == ModerationDirection.Input ? Review.ReviewDirections.Input : Review.ReviewDirections.Output;
        using var activity = SafetyTelemetry.StartGuardrail(directionName, tenant);
        var policy = await policies.GetAsync(tenant, cancellationToken);
        // The hash keys the in-memory cache only; it is not put on spans (see SafetyTelemetry.Record).
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        var key = VerdictCache.Key(directionName + (escalate ? "" : "/window"), tenant, policy.Version, hash);
        if (cache.TryGet(key, out var cached))
        {
            var cachedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            telemetry.Record(activity, cached.Assessment, directionName, tenant, cached: true, cachedMs);
            await PublishAsync(ToEvent(requestId, tenant, region, directionName, cached.Assessment, policy, cachedMs, cached.Verdict.ReviewId, cached: true, window: !escalate));
            return (cached.Verdict with { Cached = true }, cached.Assessment);
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

        string? reviewId = null;
        if (assessment.Decision == Decisions.Review && escalate)
        {
            reviewId = await escalation.EscalateAsync(ToEscalation(requestId, tenant, directionName, text, assessment, conversation ?? []), cancellationToken);
            logger.LogInformation("Request {RequestId} sent to human review {ReviewId} ({Category})", requestId, reviewId, assessment.TopCategory);
        }

        var verdict = new ModerationVerdict(
            assessment.Decision,
            assessment.Reasons,
            assessment.PolicyVersion,
            assessment.Scores,
            [.. assessment.Rules.Hits.Select(h => $"{h.Kind}:{h.Name}")],
            [.. assessment.Rules.Pii.Select(p => new PiiSpan(p.EntityType, p.Span.Start, p.Span.End))],
            reviewId);
        // A review verdict names its own review item, so it is not reused for a later request with the same text.
        if (reviewId is null)
        {
            cache.Set(key, new CachedCheck(verdict, assessment));
        }

        var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        telemetry.Record(activity, assessment, directionName, tenant, cached: false, elapsedMs);
        await PublishAsync(ToEvent(requestId, tenant, region, directionName, assessment, policy, elapsedMs, reviewId, cached: false, window: !escalate));
        return (verdict, assessment);
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

    private ModerationDecidedV1 ToEvent(
        string requestId, string tenant, string? region, string direction, SafetyAssessment assessment, SafetyPolicy policy, double latencyMs, string? reviewId, bool cached,
        bool window)
    {
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
            requestId, tenant, region, direction, assessment.Decision, assessment.TopCategory, scores, ruleHits, piiTypes,
            assessment.PolicyVersion, Math.Round(latencyMs, 3), reviewId, cached, time.GetUtcNow(), window ? ModerationDecidedV1.WindowStage : null);
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
