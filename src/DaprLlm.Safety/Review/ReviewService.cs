using System.Security.Cryptography;
using System.Text;
using Dapr.Client;
using Dapr.Workflow;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Safety;
using DaprLlm.Safety.Review.Accounts;
using DaprLlm.Safety.Review.Workflows;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Review;

/// <summary>
/// Creates review items and carries out reviewers' actions. Every rule (tenant, role, claim, single decision) is
/// checked inside the ETag-guarded update, so it holds under concurrent reviewers and app replicas.
/// </summary>
public sealed class ReviewService(
    ReviewStore store,
    ReviewPolicy policy,
    DaprClient dapr,
    DaprWorkflowClient workflows,
    ReviewQueueNotifier notifier,
    ReviewMetrics metrics,
    IOptions<ReviewOptions> options,
    TimeProvider time) : IReviewEscalation
{
    /// <summary>Shortest reason accepted to reveal masked content.</summary>
    public const int MinRevealReasonLength = 8;

    public async Task<string> EscalateAsync(ReviewEscalation item, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        // The id derives from the request, so a retried escalation finds the same item and workflow.
        var id = IdFor(item.TenantId, item.RequestId, item.Direction);
        var now = time.GetUtcNow();
        var sla = options.Value.SlaFor(item.Severity);
        var stored = new ReviewItem(id, item.TenantId, item.RequestId, item.Direction, item.Text, item.Categories, item.RuleHits,
            item.Severity, item.PolicyVersion, item.Conversation, ReviewPolicy.Priority(item.Severity, item.Categories),
            policy.DefaultDecision(item), policy.ModelSuggestion(item.Categories), now, now + sla,
            ReviewStatuses.Pending, ReviewStatuses.StandardQueue);
        var created = await store.CreateAsync(stored, cancellationToken);
        try
        {
            await workflows.ScheduleNewWorkflowAsync(ReviewNames.Workflow, id,
                new ReviewWorkflowInput(id, sla, sla, !string.IsNullOrEmpty(options.Value.WebhookBinding)));
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
            // Already started by an earlier attempt.
        }
        catch (Exception) when (created)
        {
            // Queued without a workflow, the item would never time out, default or have its decision published: it
            // joins the queue only once the workflow runs, and is taken back so the caller's retry starts afresh.
            await store.TryRemoveUnstartedAsync(id, CancellationToken.None);
            throw;
        }

        await store.AddToQueueAsync(id, created, cancellationToken);
        if (created)
        {
            metrics.Created(stored);
        }

        // The workflow may have announced the item before it was in the queue: open pages reload now.
        notifier.Notify();
        return id;
    }

    public static string IdFor(string tenantId, string requestId, string direction)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{tenantId}\n{requestId}\n{direction}"));
        return "rv-" + Convert.ToHexStringLower(hash)[..24];
    }

    public async Task<ReviewStatus?> GetStatusAsync(string id, CancellationToken cancellationToken) =>
        (await store.GetAsync(id, cancellationToken))?.ToStatus();

    /// <summary>The open items this reviewer may work, highest priority first, then nearest deadline.</summary>
    public async Task<IReadOnlyList<ReviewItem>> QueueAsync(Reviewer reviewer, CancellationToken cancellationToken) =>
        (await store.ListOpenAsync(cancellationToken))
            .Where(i => i.IsOpen && reviewer.CanWork(i))
            .OrderByDescending(i => i.Priority)
            .ThenBy(i => i.SlaDeadline)
            .ThenBy(i => i.Id, StringComparer.Ordinal)
            .ToList();

    /// <summary>An item the reviewer may see: their tenants (others are not found), senior items for seniors (forbidden otherwise).</summary>
    public async Task<ReviewItem> GetForAsync(Reviewer reviewer, string id, CancellationToken cancellationToken)
    {
        var item = await store.GetAsync(id, cancellationToken);
        // Another tenant's item is "not found", so its existence does not leak.
        if (item is null || !reviewer.CanSeeTenant(item.TenantId))
        {
            throw new ReviewRefusedException(ReviewRefusal.NotFound, $"review '{id}' was not found");
        }

        // An escalated item's scores, rule hits and conversation are for the senior queue, as its claim is.
        if (!reviewer.CanWorkQueue(item.Queue))
        {
            throw new ReviewRefusedException(ReviewRefusal.Forbidden, "this item is in the senior queue");
        }

        return item;
    }

    /// <summary>Locks the item for this reviewer; fails when another reviewer holds it.</summary>
    public async Task<ReviewItem> ClaimAsync(Reviewer reviewer, string id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var item = await store.UpdateAsync(id, current =>
        {
            CheckCanWork(reviewer, current);
            if (current.IsClaimedByOther(reviewer.Name, now))
            {
                throw new ReviewRefusedException(ReviewRefusal.ClaimedByOther, $"already claimed by {current.ClaimedBy}");
            }

            return current with { ClaimedBy = reviewer.Name, ClaimExpiresAt = now + options.Value.ClaimDuration };
        }, cancellationToken);
        notifier.Notify();
        return item;
    }

    public async Task ReleaseAsync(Reviewer reviewer, string id, CancellationToken cancellationToken)
    {
        await store.UpdateAsync(id, current => current.ClaimedBy == reviewer.Name && current.IsOpen
            ? current with { ClaimedBy = null, ClaimExpiresAt = null }
            : null, cancellationToken);
        notifier.Notify();
    }

    /// <summary>
    /// Allow, block or escalate an item the reviewer holds; a second decision is refused, except the same reviewer's same
    /// allow or block again (a retry), which raises the workflow's event once more.
    /// </summary>
    public async Task<ReviewItem> DecideAsync(Reviewer reviewer, string id, string action, IReadOnlyList<string> labels, string? note, CancellationToken cancellationToken)
    {
        if (action is not (ReviewStatuses.Allow or ReviewStatuses.Block or ReviewStatuses.Escalate))
        {
            throw new ReviewRefusedException(ReviewRefusal.Invalid, "action must be allow, block or escalate");
        }

        var now = time.GetUtcNow();
        var item = await store.UpdateAsync(id, current =>
        {
            // A retry of a decision whose event was not raised (the sidecar failed after the write): without the event
            // the workflow would only notice at its SLA timer, hours later. Raising it again is harmless: the workflow
            // reads the item's status, and an event it does not wait for (or for a finished instance) is ignored.
            if (IsSameDecision(reviewer, current, action))
            {
                return null;
            }

            CheckCanWork(reviewer, current);
            if (current.ClaimedBy != reviewer.Name)
            {
                throw current.IsClaimedByOther(reviewer.Name, now)
                    ? new ReviewRefusedException(ReviewRefusal.ClaimedByOther, $"claimed by {current.ClaimedBy}")
                    : new ReviewRefusedException(ReviewRefusal.NotClaimed, "claim the item before deciding");
            }

            var common = current with { Labels = labels.Distinct(StringComparer.Ordinal).ToList(), Note = note, ClaimedBy = null, ClaimExpiresAt = null };
            if (action == ReviewStatuses.Escalate)
            {
                return current.Queue == ReviewStatuses.SeniorQueue
                    ? throw new ReviewRefusedException(ReviewRefusal.Invalid, "the item is already in the senior queue")
                    : common with
                    {
                        Status = ReviewStatuses.Escalated,
                        Queue = ReviewStatuses.SeniorQueue,
                        Escalated = true,
                        SlaDeadline = now + options.Value.SlaFor(current.Severity),
                    };
            }

            return common with
            {
                Status = action == ReviewStatuses.Allow ? ReviewStatuses.Allowed : ReviewStatuses.Blocked,
                Decision = action,
                DecidedBy = reviewer.Name,
                DecidedAt = now,
                SlaBreached = now > current.SlaDeadline,
            };
        }, cancellationToken);

        await workflows.RaiseEventAsync(id, ReviewNames.DecisionEvent, new ReviewDecisionEvent(action, reviewer.Name), cancellationToken);
        notifier.Notify();
        return item;
    }

    /// <summary>The unmasked text; needs a reason, and the reveal is published for the audit trail first.</summary>
    public async Task<string> RevealAsync(Reviewer reviewer, string id, string reason, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(reason) || reason.Trim().Length < MinRevealReasonLength)
        {
            throw new ReviewRefusedException(ReviewRefusal.Invalid, $"give a reason of at least {MinRevealReasonLength} characters");
        }

        var item = await GetForAsync(reviewer, id, cancellationToken);

        await dapr.PublishEventAsync(DaprComponents.PubSub, ReviewNames.PiiRevealedTopic,
            new ReviewPiiRevealedV1(id, item.TenantId, reviewer.Name, reason.Trim(), time.GetUtcNow()), cancellationToken);
        return item.Text;
    }

    private static bool IsSameDecision(Reviewer reviewer, ReviewItem item, string action) =>
        !item.IsOpen && action is (ReviewStatuses.Allow or ReviewStatuses.Block) && item.Decision == action
        && item.DecidedBy == reviewer.Name && reviewer.CanSeeTenant(item.TenantId);

    private static void CheckCanWork(Reviewer reviewer, ReviewItem item)
    {
        if (!reviewer.CanSeeTenant(item.TenantId))
        {
            throw new ReviewRefusedException(ReviewRefusal.NotFound, $"review '{item.Id}' was not found");
        }

        if (!item.IsOpen)
        {
            throw new ReviewRefusedException(ReviewRefusal.AlreadyDecided, $"already decided ({item.Status}{(item.DecidedBy is null ? "" : " by " + item.DecidedBy)})");
        }

        if (!reviewer.CanWorkQueue(item.Queue))
        {
            throw new ReviewRefusedException(ReviewRefusal.Forbidden, $"the {item.Queue} queue needs the senior or admin role");
        }
    }
}
