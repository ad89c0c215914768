namespace DaprLlm.Contracts.Safety;

/// <summary>Dapr names of the human-review feature (topics, workflow, external event, invocation paths), declared once.</summary>
public static class ReviewNames
{
    /// <summary>Topic: a review item was created or moved to another queue; carries <see cref="Events.ReviewCreatedV1"/>.</summary>
    public const string CreatedTopic = Topics.ReviewCreated;

    /// <summary>Topic: a review item was decided (by a reviewer or by default); carries <see cref="Events.ReviewDecidedV1"/>.</summary>
    public const string DecidedTopic = Topics.ReviewDecided;

    /// <summary>Topic: a reviewer revealed masked PII; carries <see cref="Events.ReviewPiiRevealedV1"/>. The audit app
    /// records it: the names are the audited topics themselves, so the two can never drift apart again.</summary>
    public const string PiiRevealedTopic = Topics.PiiRevealed;

    /// <summary>The workflow type that drives one review item (instance id = review id).</summary>
    public const string Workflow = "ReviewWorkflow";

    /// <summary>The external event a reviewer's decision is raised as.</summary>
    public const string DecisionEvent = "decision";

    /// <summary>safety: review status by id (append the id); the gateway's <c>/v1/reviews/{id}</c> calls it.</summary>
    public const string StatusMethodPrefix = "reviews/";
}
