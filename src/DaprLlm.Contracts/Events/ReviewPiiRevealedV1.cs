namespace DaprLlm.Contracts.Events;

/// <summary>Published by safety when a reviewer reveals masked content; the audit trail keeps who, when and why.</summary>
public sealed record ReviewPiiRevealedV1(
    string ReviewId,
    string TenantId,
    string Reviewer,
    string Reason,
    DateTimeOffset RevealedAt);
