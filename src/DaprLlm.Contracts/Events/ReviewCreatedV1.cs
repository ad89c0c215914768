namespace DaprLlm.Contracts.Events;

/// <summary>
/// Published by safety when a review item enters a queue (Queue "standard" at creation, "senior" on escalation).
/// Carries no content: reviewers open the item in the review UI, where PII is masked.
/// </summary>
public sealed record ReviewCreatedV1(
    string ReviewId,
    string TenantId,
    string RequestId,
    string Direction,
    string Severity,
    string Queue,
    int Priority,
    DateTimeOffset SlaDeadline,
    string PolicyVersion,
    DateTimeOffset CreatedAt);
