using Dapr.Workflow;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Review.Activities;

/// <summary>First SLA passed: moves an undecided item to the senior queue with a new deadline; returns its status.</summary>
public sealed class EscalateReviewActivity(ReviewStore store, IOptions<ReviewOptions> options, TimeProvider time) : WorkflowActivity<string, string>
{
    public override async Task<string> RunAsync(WorkflowActivityContext context, string reviewId)
    {
        var now = time.GetUtcNow();
        var item = await store.UpdateAsync(reviewId, current => current.IsOpen && !current.Escalated
            ? current with
            {
                Status = ReviewStatuses.Escalated,
                Queue = ReviewStatuses.SeniorQueue,
                Escalated = true,
                SlaDeadline = now + options.Value.SlaFor(current.Severity),
                ClaimedBy = null,
                ClaimExpiresAt = null,
            }
            : null, CancellationToken.None);
        return item.Status;
    }
}
