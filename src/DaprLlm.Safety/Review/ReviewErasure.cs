using Dapr.Client;
using Dapr.Workflow;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Safety;
using DaprLlm.Safety.Review.Workflows;

namespace DaprLlm.Safety.Review;

/// <summary>
/// GDPR erasure reaches the review queue: on <c>subject.erased</c> every review item of the subject's requests (the
/// queue keys items by tenant and request, so audit names the requests) loses its evidence — text and conversation —
/// and its labelled example. An open item leaves the queue with its category default (nobody may review content that
/// no longer exists); its workflow is woken to publish that. Redelivery finds the items already redacted and only wakes
/// the workflows of the items the erasure closed again (a delivery that failed after the write must not leave them asleep).
/// </summary>
public static partial class ReviewErasure
{
    /// <summary>What an erased item's text becomes.</summary>
    public const string Redacted = "[erased]";

    public static WebApplication MapReviewErasure(this WebApplication app)
    {
        app.MapPost("/review/events/subject-erased", PurgeAsync).WithTopic(DaprComponents.PubSub, Topics.SubjectErased);
        return app;
    }

    private static async Task<IResult> PurgeAsync(
        SubjectErasedV1 erased, ReviewStore store, DaprClient dapr, DaprWorkflowClient workflows, ReviewQueueNotifier notifier, TimeProvider time, ILoggerFactory logs, CancellationToken cancellationToken)
    {
        var requests = (erased.RequestIds ?? []).ToHashSet(StringComparer.Ordinal);
        if (requests.Count == 0)
        {
            return TypedResults.Ok();
        }

        // Looked up by id, not through the indexes: the closed index keeps only the last decisions, while items stay
        // in the store, so an item decided long ago must still be found.
        var items = await store.GetManyAsync(
            requests.SelectMany(r => ReviewDirections.All.Select(d => ReviewService.IdFor(erased.TenantId, r, d))).ToList(), cancellationToken);
        var now = time.GetUtcNow();
        foreach (var item in items)
        {
            var updated = await store.UpdateAsync(item.Id, current =>
            {
                if (!current.IsOpen && current.Text == Redacted && current.Conversation.Count == 0)
                {
                    return null;
                }

                var redacted = current with { Text = Redacted, Conversation = [], Note = null, ClaimedBy = null, ClaimExpiresAt = null };
                return current.IsOpen
                    // The contract's status is still "defaulted" (the category default applies), but marked as the erasure's
                    // doing, so statistics do not count it as a default or an SLA failure.
                    ? redacted with { Status = ReviewStatuses.Defaulted, Decision = current.DefaultDecision, DecidedAt = now, SlaBreached = false, ClosedByErasure = true }
                    : redacted;
            }, cancellationToken);
            await dapr.DeleteStateAsync(DaprComponents.StateStore, FeedbackStore.Prefix + item.Id, cancellationToken: cancellationToken);
            if (updated.ClosedByErasure)
            {
                // Also on a redelivery: the event may not have been raised the first time. A workflow that already
                // finished ignores it.
                await workflows.RaiseEventAsync(item.Id, ReviewNames.DecisionEvent, new ReviewDecisionEvent(ReviewStatuses.Defaulted, "erasure"), cancellationToken);
            }
        }

        LogPurged(logs.CreateLogger("DaprLlm.Safety.Review.Erasure"), items.Count, erased.TenantId);
        notifier.Notify();
        return TypedResults.Ok();
    }

    [LoggerMessage(LogLevel.Information, "Erasure purged {Count} review items of tenant {TenantId}")]
    private static partial void LogPurged(ILogger logger, int count, string tenantId);
}
