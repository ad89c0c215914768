using DaprLlm.Contracts.Inference;

namespace DaprLlm.Safety.Review;

/// <summary>
/// One review item as stored in Dapr state (key <c>review|{id}</c>). Writes go through ETags, so a claim or a
/// decision made on a stale copy fails instead of overwriting another reviewer's.
/// </summary>
public sealed record ReviewItem(
    string Id,
    string TenantId,
    string RequestId,
    string Direction,
    string Text,
    IReadOnlyDictionary<string, double> Categories,
    IReadOnlyList<string> RuleHits,
    string Severity,
    string PolicyVersion,
    IReadOnlyList<ChatMessage> Conversation,
    int Priority,
    string DefaultDecision,
    string ModelSuggestion,
    DateTimeOffset CreatedAt,
    DateTimeOffset SlaDeadline,
    string Status,
    string Queue)
{
    public string? ClaimedBy { get; init; }

    public DateTimeOffset? ClaimExpiresAt { get; init; }

    public string? DecidedBy { get; init; }

    public DateTimeOffset? DecidedAt { get; init; }

    /// <summary>"allow" or "block" once decided.</summary>
    public string? Decision { get; init; }

    public IReadOnlyList<string> Labels { get; init; } = [];

    public string? Note { get; init; }

    /// <summary>True once the item went to the senior queue (by timeout or by a reviewer).</summary>
    public bool Escalated { get; init; }

    /// <summary>Whether the SLA deadline of the queue it was decided in had passed when it was decided.</summary>
    public bool SlaBreached { get; init; }

    /// <summary>
    /// True when a GDPR erasure closed the item (status defaulted, nobody decided): not a default for want of a reviewer.
    /// Items stored before this flag existed read as false.
    /// </summary>
    public bool ClosedByErasure { get; init; }

    public bool IsOpen => Status is ReviewStatuses.Pending or ReviewStatuses.Escalated;

    public bool IsClaimedByOther(string reviewer, DateTimeOffset now) =>
        ClaimedBy is not null && ClaimedBy != reviewer && ClaimExpiresAt > now;
}
