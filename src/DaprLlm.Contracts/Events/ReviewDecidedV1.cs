namespace DaprLlm.Contracts.Events;

/// <summary>
/// Published by safety when a review item is decided. Status is "allowed", "blocked" or "defaulted" (no human
/// answered in time; <see cref="Decision"/> then holds the category default). DecidedBy is null for defaults.
/// </summary>
public sealed record ReviewDecidedV1(
    string ReviewId,
    string TenantId,
    string RequestId,
    string Direction,
    string Status,
    string Decision,
    string? DecidedBy,
    DateTimeOffset DecidedAt,
    IReadOnlyList<string> Labels,
    string PolicyVersion,
    bool Escalated)
{
    /// <summary>Status values (also those of the review status route).</summary>
    public static class Statuses
    {
        public const string Pending = "pending";
        public const string Escalated = "escalated";
        public const string Allowed = "allowed";
        public const string Blocked = "blocked";
        public const string Defaulted = "defaulted";
    }
}
