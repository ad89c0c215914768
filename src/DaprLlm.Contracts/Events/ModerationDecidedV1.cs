namespace DaprLlm.Contracts.Events;

/// <summary>
/// Published by safety after every moderation check (cached verdicts included) on <see cref="Topics.ModerationDecided"/>.
/// Carries no content: rule hits are rule ids ("Injection:instruction-override"), PII only its entity types.
/// </summary>
/// <param name="RequestId">The caller's request id (the gateway's), empty when the caller gave none.</param>
/// <param name="TenantId">Whose policy decided.</param>
/// <param name="Region">The caller's data region when it said one; audit routes by the tenant's configured region first.</param>
/// <param name="Direction">"input" or "output".</param>
/// <param name="Action">allow, review or block.</param>
/// <param name="TopCategory">The category closest to (or furthest past) its allow threshold; null when all allow.</param>
/// <param name="Scores">Scores of the categories at or above their allow threshold (the ones that routed).</param>
/// <param name="RuleHits">Ids of the rules that fired, as "kind:name".</param>
/// <param name="PiiTypes">Distinct PII entity types found (no spans, no values).</param>
/// <param name="PolicyVersion">The policy version the decision was made under.</param>
/// <param name="LatencyMs">Time of the whole check in the safety app.</param>
/// <param name="ReviewId">The human-review item created for a review decision.</param>
/// <param name="Cached">True when the verdict came from the verdict cache.</param>
/// <param name="DecidedAt">When the check finished.</param>
/// <param name="Stage">"window" for a streaming window that did not allow (its stream stops: the request's output
/// decision); "api" for a text a client classified through <c>/v1/moderations</c> (not a guardrail of its own chat
/// traffic); null for a guardrail check of a whole text. A window that allows publishes nothing.</param>
public sealed record ModerationDecidedV1(
    string RequestId,
    string TenantId,
    string? Region,
    string Direction,
    string Action,
    string? TopCategory,
    IReadOnlyDictionary<string, double> Scores,
    IReadOnlyList<string> RuleHits,
    IReadOnlyList<string> PiiTypes,
    string PolicyVersion,
    double LatencyMs,
    string? ReviewId,
    bool Cached,
    DateTimeOffset DecidedAt,
    string? Stage = null)
{
    /// <summary>The <see cref="Stage"/> of a streaming window's check.</summary>
    public const string WindowStage = "window";

    /// <summary>The <see cref="Stage"/> of a check a client asked for through <c>/v1/moderations</c>.</summary>
    public const string ApiStage = "api";
}
