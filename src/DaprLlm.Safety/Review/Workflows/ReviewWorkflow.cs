using Dapr.Workflow;
using DaprLlm.Contracts.Safety;
using DaprLlm.Safety.Review.Activities;

namespace DaprLlm.Safety.Review.Workflows;

/// <summary>
/// One review item from creation to decision: notify reviewers, wait for a decision within the SLA, on timeout
/// escalate to the senior queue and wait again, on a second timeout apply the category default, then publish.
/// Notifying is best effort; publishing the decision is retried until it succeeds, however long pub/sub is down.
/// Deterministic: every read and write of the item is an activity; time only through durable timers.
/// </summary>
public sealed class ReviewWorkflow : Workflow<ReviewWorkflowInput, ReviewStatus>
{
    // Activities talk to the sidecar; a restart of it mid-call must not fail the review, so each is retried.
    private static readonly WorkflowTaskOptions Retried = new(new WorkflowRetryPolicy(
        maxNumberOfAttempts: 8, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30)));

    // The client's webhook is best effort: a few quick tries, then the review completes anyway.
    private static readonly WorkflowTaskOptions WebhookRetried = new(new WorkflowRetryPolicy(
        maxNumberOfAttempts: 3, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2));

    // Pauses between rounds of publishing attempts once a round's retries are used up: doubling, so a long outage
    // adds few history events, and capped, so the decision goes out soon after pub/sub is back.
    private static readonly TimeSpan FirstPublishPause = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxPublishPause = TimeSpan.FromMinutes(10);

    public override async Task<ReviewStatus> RunAsync(WorkflowContext context, ReviewWorkflowInput input)
    {
        var id = input.ReviewId;
        await NotifyReviewersAsync(context, id);
        var escalated = false;
        while (true)
        {
            var status = await WaitForReviewerAsync(context, id, escalated ? input.SeniorWait : input.StandardWait);
            if (status is null)
            {
                // Nobody answered in time; the activity keeps a decision that won the race against the timer.
                status = await context.CallActivityAsync<string>(
                    escalated ? nameof(ApplyDefaultDecisionActivity) : nameof(EscalateReviewActivity), id, Retried);
            }

            if (ReviewStatuses.IsFinal(status))
            {
                break;
            }

            if (status == ReviewStatuses.Escalated && !escalated)
            {
                escalated = true;
                await NotifyReviewersAsync(context, id);
            }
        }

        var decided = await PublishDecisionAsync(context, id);
        if (input.CallWebhook)
        {
            try
            {
                await context.CallActivityAsync<bool>(nameof(CallClientWebhookActivity), id, WebhookRetried);
            }
            catch (WorkflowTaskFailedException)
            {
                // The decision stands and is published; an unreachable client webhook does not undo it.
            }
        }

        return decided;
    }

    /// <summary>Announces the item to its queue's reviewers, if pub/sub lets it.</summary>
    private static async Task NotifyReviewersAsync(WorkflowContext context, string id)
    {
        try
        {
            await context.CallActivityAsync<bool>(nameof(NotifyReviewersActivity), id, Retried);
        }
        catch (WorkflowTaskFailedException)
        {
            // Reviewers still find the item in their queue; failing here would leave it pending for good, with no
            // timeout, no default and no decision ever published.
        }
    }

    /// <summary>Publishes the decision, pausing on a durable timer between rounds of retries until it goes out.</summary>
    private static async Task<ReviewStatus> PublishDecisionAsync(WorkflowContext context, string id)
    {
        var pause = FirstPublishPause;
        while (true)
        {
            try
            {
                return await context.CallActivityAsync<ReviewStatus>(nameof(PublishDecisionActivity), id, Retried);
            }
            catch (WorkflowTaskFailedException)
            {
                // The decision is stored, but the gateway and audit only learn it from the event: never give up on it.
            }

            await context.CreateTimer(pause, CancellationToken.None);
            pause = pause * 2 < MaxPublishPause ? pause * 2 : MaxPublishPause;
        }
    }

    /// <summary>The item's status after a reviewer's event, or null when the wait timed out.</summary>
    private static async Task<string?> WaitForReviewerAsync(WorkflowContext context, string id, TimeSpan wait)
    {
        try
        {
            await context.WaitForExternalEventAsync<ReviewDecisionEvent>(ReviewNames.DecisionEvent, wait);
        }
        catch (TaskCanceledException)
        {
            return null;
        }

        return await context.CallActivityAsync<string>(nameof(GetReviewStatusActivity), id, Retried);
    }
}
