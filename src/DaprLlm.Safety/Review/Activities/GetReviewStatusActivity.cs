using Dapr.Workflow;

namespace DaprLlm.Safety.Review.Activities;

/// <summary>Reads the item's status (the workflow never reads state itself).</summary>
public sealed class GetReviewStatusActivity(ReviewStore store) : WorkflowActivity<string, string>
{
    public override async Task<string> RunAsync(WorkflowActivityContext context, string reviewId)
    {
        var item = await store.GetAsync(reviewId, CancellationToken.None)
            ?? throw new InvalidOperationException($"review '{reviewId}' does not exist");
        return item.Status;
    }
}
