using Dapr.Workflow;

namespace DaprLlm.Safety.Review.Activities;

/// <summary>Second SLA passed: applies the category default unless a decision got there first; returns the status.</summary>
public sealed class ApplyDefaultDecisionActivity(ReviewStore store, TimeProvider time) : WorkflowActivity<string, string>
{
    public override async Task<string> RunAsync(WorkflowActivityContext context, string reviewId)
    {
        var now = time.GetUtcNow();
        var item = await store.UpdateAsync(reviewId, current => current.IsOpen
            ? current with
            {
                Status = ReviewStatuses.Defaulted,
                Decision = current.DefaultDecision,
                DecidedAt = now,
                SlaBreached = true,
                ClaimedBy = null,
                ClaimExpiresAt = null,
            }
            : null, CancellationToken.None);
        return item.Status;
    }
}
