namespace DaprLlm.Contracts.Safety;

/// <summary>
/// Answer of safety's <c>reviews/{id}</c>: status is pending, escalated, allowed, blocked or defaulted. Internal: the
/// gateway checks <see cref="TenantId"/> against its caller and shows clients only the public fields.
/// </summary>
public sealed record ReviewStatus(
    string Id,
    string Status,
    string? DecidedBy,
    DateTimeOffset? DecidedAt,
    IReadOnlyList<string> Labels,
    string? Decision = null,
    string? TenantId = null,
    string? RequestId = null);
