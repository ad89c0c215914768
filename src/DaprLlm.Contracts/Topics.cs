namespace DaprLlm.Contracts;

/// <summary>Pub/sub topic names.</summary>
public static class Topics
{
    /// <summary>gateway: a request was admitted (tenant, key, model, route, region, cache result); carries <c>Events.RequestReceivedV1</c>.</summary>
    public const string RequestReceived = "request.received";

    /// <summary>safety: an input or output check decided (scores, action, policy version); carries <c>Events.ModerationDecidedV1</c>.</summary>
    public const string ModerationDecided = "moderation.decided";

    /// <summary>A chat or completion request finished (answered or refused); carries <see cref="Events.RequestCompletedV1"/>.</summary>
    public const string RequestCompleted = "request.completed";

    /// <summary>safety: an item entered the human review queue.</summary>
    public const string ReviewCreated = "review.created";

    /// <summary>safety: a reviewer decided an item.</summary>
    public const string ReviewDecided = "review.decided";

    /// <summary>safety: a reviewer revealed masked PII of an item.</summary>
    public const string PiiRevealed = "pii.revealed";

    /// <summary>Any app: an administrative action (key created, policy changed) worth an audit record.</summary>
    public const string AdminAction = "admin.action";

    /// <summary>audit: a data subject was erased; gateway caches and the review queue purge their entries. Carries <see cref="Events.SubjectErasedV1"/>.</summary>
    public const string SubjectErased = "subject.erased";

    /// <summary>The topics the audit app records by default (any event type on them is stored).</summary>
    public static readonly IReadOnlyList<string> Audited = [RequestReceived, ModerationDecided, RequestCompleted, ReviewCreated, ReviewDecided, PiiRevealed, AdminAction];
}
