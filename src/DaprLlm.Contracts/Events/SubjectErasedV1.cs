namespace DaprLlm.Contracts.Events;

/// <summary>
/// Published by audit after a GDPR erasure: subscribers drop everything they hold about the end user
/// (<paramref name="UserId"/> as the gateway knows it; <paramref name="Subject"/> is audit's pseudonym).
/// <paramref name="RequestIds"/> are the subject's requests audit holds: the review queue keys its items by request, not by user.
/// </summary>
public sealed record SubjectErasedV1(
    string TenantId,
    string UserId,
    string Subject,
    string Region,
    DateTimeOffset ErasedAt,
    string RequestedBy,
    IReadOnlyList<string>? RequestIds = null);
