namespace DaprLlm.Safety.Review;

/// <summary>
/// The seam between moderation and human review: a verdict whose decision is <c>review</c> is handed over here,
/// and the returned id is put on the verdict. The review workflow (issue #7 part B) implements it.
/// </summary>
public interface IReviewEscalation
{
    /// <summary>Creates a durable review item for <paramref name="item"/> and returns its review id.</summary>
    Task<string> EscalateAsync(ReviewEscalation item, CancellationToken cancellationToken);
}

/// <summary>Everything a reviewer needs to decide one moderated text.</summary>
/// <param name="RequestId">The gateway's request id (x-request-id).</param>
/// <param name="TenantId">The tenant whose policy produced the verdict ("default" when none).</param>
/// <param name="Direction">"input" (prompt) or "output" (generated text).</param>
/// <param name="Text">The moderated text, unmasked; the reviewer UI masks PII by default.</param>
/// <param name="ContentHash">SHA-256 hex of the text, the verdict cache key together with the policy version.</param>
/// <param name="PolicyVersion">The policy version that routed the text to review.</param>
/// <param name="TopCategory">The category with the highest score relative to its policy (drives severity and SLA).</param>
/// <param name="Severity">"high" for categories that fail closed (sexual/minors, self-harm intent/instructions, threats, illicit), else "normal".</param>
/// <param name="CategoryScores">Calibrated probability per category (OpenAI names, plus "jailbreak").</param>
/// <param name="RuleHits">Rule-layer hits as "kind:name" strings.</param>
/// <param name="PiiTypes">Entity types of the PII found in the text.</param>
public sealed record ReviewEscalation(
    string RequestId,
    string TenantId,
    string Direction,
    string Text,
    string ContentHash,
    string PolicyVersion,
    string TopCategory,
    string Severity,
    IReadOnlyDictionary<string, double> CategoryScores,
    IReadOnlyList<string> RuleHits,
    IReadOnlyList<string> PiiTypes);
