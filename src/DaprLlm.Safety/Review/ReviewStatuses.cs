using DaprLlm.Contracts.Events;

namespace DaprLlm.Safety.Review;

/// <summary>Item statuses, queues and decisions (the status strings are the contract's).</summary>
public static class ReviewStatuses
{
    public const string Pending = ReviewDecidedV1.Statuses.Pending;
    public const string Escalated = ReviewDecidedV1.Statuses.Escalated;
    public const string Allowed = ReviewDecidedV1.Statuses.Allowed;
    public const string Blocked = ReviewDecidedV1.Statuses.Blocked;
    public const string Defaulted = ReviewDecidedV1.Statuses.Defaulted;

    public const string StandardQueue = "standard";
    public const string SeniorQueue = "senior";

    public const string Allow = "allow";
    public const string Block = "block";
    public const string Escalate = "escalate";

    public static bool IsFinal(string status) => status is Allowed or Blocked or Defaulted;
}
