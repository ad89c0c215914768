using Dapr.Client;
using Dapr.Workflow;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Safety;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Review.Activities;

/// <summary>
/// Stores a human decision as a labelled example, publishes review.decided (audit and the gateway consume it) and
/// returns the final status.
/// </summary>
public sealed class PublishDecisionActivity(ReviewStore store, FeedbackStore feedback, DaprClient dapr, ReviewQueueNotifier notifier, ReviewMetrics metrics) : WorkflowActivity<string, ReviewStatus>
{
    public override async Task<ReviewStatus> RunAsync(WorkflowActivityContext context, string reviewId)
    {
        var item = await store.GetAsync(reviewId, CancellationToken.None)
            ?? throw new InvalidOperationException($"review '{reviewId}' does not exist");
        if (LabelledExample.From(item, PiiDetector.Default.Mask) is { } example)
        {
            await feedback.SaveAsync(reviewId, example, CancellationToken.None);

            // An erasure that redacted the item after it was read above deleted no example yet: this one must go too.
            if ((await store.GetAsync(reviewId, CancellationToken.None))?.Text == ReviewErasure.Redacted)
            {
                await feedback.DeleteAsync(reviewId, CancellationToken.None);
            }
        }

        await dapr.PublishEventAsync(DaprComponents.PubSub, ReviewNames.DecidedTopic, item.ToDecidedEvent());
        notifier.Notify();
        metrics.Decided(item);
        return item.ToStatus();
    }
}
