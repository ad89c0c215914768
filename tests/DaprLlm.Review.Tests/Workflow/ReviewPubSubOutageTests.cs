using DaprLlm.Contracts.Safety;
using DaprLlm.Review.Tests.Infrastructure;
using DaprLlm.Safety.Review;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Review.Tests.Workflow;

/// <summary>Pub/sub down for longer than an activity's retry policy (8 attempts over about 90 s), then back.</summary>
public sealed class ReviewPubSubOutageTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_long_pub_sub_outage_neither_fails_a_review_nor_loses_its_decision()
    {
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromMinutes(10));
        var decided = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
        await Deadline.WaitUntilAsync(async () => (await host.PublishedAsync(ReviewNames.CreatedTopic, decided)).Count > 0, Wait, "review.created");

        // Pub/sub down: the review.created of a new item and the review.decided of a decision made now cannot go out.
        await host.SetRedisAclAsync("-xadd");
        var created = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
        await host.Reviews.ClaimAsync(ReviewHost.Alice, decided, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Alice, decided, ReviewStatuses.Block, [], null, Ct);
        await Deadline.WaitUntilAsync(async () => await host.FailedActivitiesAsync(created) >= 8 && await host.FailedActivitiesAsync(decided) >= 8,
            TimeSpan.FromSeconds(180), "both workflows to use up their activity retries");
        await host.SetRedisAclAsync("+xadd");

        // The decision made during the outage is published once pub/sub is back.
        await Deadline.WaitUntilAsync(async () => (await host.PublishedAsync(ReviewNames.DecidedTopic, decided)).Count > 0, Wait, "the decision made during the outage");
        // The item whose reviewers could not be notified still waits for one, and its decision is published too.
        await host.Reviews.ClaimAsync(ReviewHost.Alice, created, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Alice, created, ReviewStatuses.Allow, [], null, Ct);
        await Deadline.WaitUntilAsync(async () => (await host.PublishedAsync(ReviewNames.DecidedTopic, created)).Count > 0, Wait, "the later decision");
        foreach (var (id, status) in new[] { (decided, ReviewStatuses.Blocked), (created, ReviewStatuses.Allowed) })
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cts.CancelAfter(Wait);
            var workflow = await host.Workflows.WaitForWorkflowCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
            Assert.Equal(Dapr.Workflow.WorkflowRuntimeStatus.Completed, workflow.RuntimeStatus);
            Assert.Equal(status, workflow.ReadOutputAs<ReviewStatus>()!.Status);
            Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, id));
        }
    }
}
