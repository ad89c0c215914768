using Dapr.Client;
using Dapr.Workflow;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Safety;

namespace DaprLlm.Safety.Review.Activities;

/// <summary>Publishes review.created for the item's current queue (standard at creation, senior after escalation).</summary>
public sealed class NotifyReviewersActivity(ReviewStore store, DaprClient dapr, ReviewQueueNotifier notifier) : WorkflowActivity<string, bool>
{
    public override async Task<bool> RunAsync(WorkflowActivityContext context, string reviewId)
    {
        var item = await store.GetAsync(reviewId, CancellationToken.None)
            ?? throw new InvalidOperationException($"review '{reviewId}' does not exist");
        await dapr.PublishEventAsync(DaprComponents.PubSub, ReviewNames.CreatedTopic, item.ToCreatedEvent());
        notifier.Notify();
        return true;
    }
}
