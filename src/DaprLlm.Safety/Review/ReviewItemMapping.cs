using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Safety;

namespace DaprLlm.Safety.Review;

/// <summary>The contract shapes of a stored item.</summary>
public static class ReviewItemMapping
{
    public static ReviewStatus ToStatus(this ReviewItem item) =>
        new(item.Id, item.Status, item.DecidedBy, item.DecidedAt, item.Labels, item.Decision, item.TenantId, item.RequestId);

    public static ReviewCreatedV1 ToCreatedEvent(this ReviewItem item) =>
        new(item.Id, item.TenantId, item.RequestId, item.Direction, item.Severity, item.Queue, item.Priority,
            item.SlaDeadline, item.PolicyVersion, item.CreatedAt);

    /// <summary>The public view sent to the client webhook, as the gateway shows a review's status.</summary>
    public static ReviewWebhookBody ToWebhookBody(this ReviewItem item) =>
        new(item.Id, "review", item.RequestId, item.Status, item.Decision, item.DecidedAt);

    public static ReviewDecidedV1 ToDecidedEvent(this ReviewItem item) =>
        new(item.Id, item.TenantId, item.RequestId, item.Direction, item.Status,
            item.Decision ?? throw new InvalidOperationException($"review '{item.Id}' is not decided"),
            item.DecidedBy, item.DecidedAt ?? throw new InvalidOperationException($"review '{item.Id}' has no decision time"),
            item.Labels, item.PolicyVersion, item.Escalated);
}
