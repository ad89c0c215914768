using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Safety;
using DaprLlm.Review.Tests.Infrastructure;
using DaprLlm.Safety.Review;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace DaprLlm.Review.Tests.Workflow;

/// <summary>subject.erased, delivered through the real sidecar and Redis, purges the subject's review items and examples.</summary>
public sealed class ReviewErasureTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Erasure_redacts_the_subjects_items_closes_open_ones_and_drops_their_examples_leaving_others()
    {
        // The closed index keeps only the last 10 decisions; erasure must still find an item decided before those.
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromMinutes(10), extraSettings: new Dictionary<string, string> { ["Review:ClosedHistory"] = "10" });
        var store = host.App.Services.GetRequiredService<ReviewStore>();
        var feedback = host.App.Services.GetRequiredService<FeedbackStore>();
        var openItem = ReviewHost.Item();
        var decidedItem = ReviewHost.Item();
        var otherItem = ReviewHost.Item();
        var open = await host.Reviews.EscalateAsync(openItem, Ct);
        var decided = await host.Reviews.EscalateAsync(decidedItem, Ct);
        var other = await host.Reviews.EscalateAsync(otherItem, Ct);
        await host.Reviews.ClaimAsync(ReviewHost.Alice, decided, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Alice, decided, ReviewStatuses.Block, ["harassment"], "rude", Ct);
        await Deadline.WaitUntilAsync(async () => (await feedback.ListAsync(Ct)).Any(e => e.Id == "review:" + decided), Wait, "the decided item's labelled example");
        for (var i = 0; i < 10; i++)
        {
            var later = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
            await host.Reviews.ClaimAsync(ReviewHost.Alice, later, Ct);
            await host.Reviews.DecideAsync(ReviewHost.Alice, later, ReviewStatuses.Allow, [], null, Ct);
        }

        Assert.DoesNotContain(await store.ListClosedAsync(Ct), i => i.Id == decided);

        using var dapr = new DaprClientBuilder().UseHttpEndpoint(host.Sidecar.HttpEndpoint).UseGrpcEndpoint(host.Sidecar.GrpcEndpoint).Build();
        await dapr.PublishEventAsync(DaprComponents.PubSub, Topics.SubjectErased,
            new SubjectErasedV1("acme", "user-1", "psn_x", "eu", DateTimeOffset.UtcNow, "root", [openItem.RequestId, decidedItem.RequestId]), Ct);

        var status = await host.WaitForStatusAsync(open, s => s.Status == ReviewStatuses.Defaulted, Wait, "the open item to leave the queue");
        Assert.Null(status.DecidedBy);
        // Closed by the erasure, not left to its default: the stats count no default (nor SLA failure) for it.
        Assert.Equal(0, ReviewStats.From(await store.ListOpenAsync(Ct), await store.ListClosedAsync(Ct), DateTimeOffset.UtcNow).Defaulted);
        Assert.True((await store.GetAsync(open, Ct))!.ClosedByErasure);
        await Deadline.WaitUntilAsync(async () => (await store.GetAsync(decided, Ct))!.Text == ReviewErasure.Redacted, Wait, "the decided item to be redacted");
        foreach (var id in new[] { open, decided })
        {
            var item = (await store.GetAsync(id, Ct))!;
            Assert.Equal(ReviewErasure.Redacted, item.Text);
            Assert.Empty(item.Conversation);
            Assert.DoesNotContain("jane.doe", System.Text.Json.JsonSerializer.Serialize(item), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(await host.Reviews.QueueAsync(ReviewHost.Alice, Ct), i => i.Id == open);
        Assert.DoesNotContain(await feedback.ListAsync(Ct), e => e.Id == "review:" + decided);
        var workflow = await host.Workflows.WaitForWorkflowCompletionAsync(open, getInputsAndOutputs: true, Ct);
        Assert.Equal(ReviewStatuses.Defaulted, workflow.ReadOutputAs<ReviewStatus>()!.Status);

        // Another subject's item is untouched and still waiting for a reviewer.
        var kept = (await store.GetAsync(other, Ct))!;
        Assert.Equal(otherItem.Text, kept.Text);
        Assert.Contains(await host.Reviews.QueueAsync(ReviewHost.Alice, Ct), i => i.Id == other);
    }

    [Fact]
    public async Task A_redelivered_erasure_wakes_the_workflow_of_an_item_it_closed_when_the_first_delivery_could_not()
    {
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromMinutes(10));
        var store = host.App.Services.GetRequiredService<ReviewStore>();
        var escalation = ReviewHost.Item();
        var id = await host.Reviews.EscalateAsync(escalation, Ct);
        // What a first delivery leaves when raising the event failed after the item was written (the handler failed, so
        // pub/sub delivers the event again).
        await store.UpdateAsync(id, c => c with
        {
            Text = ReviewErasure.Redacted, Conversation = [], Status = ReviewStatuses.Defaulted, Decision = c.DefaultDecision,
            DecidedAt = DateTimeOffset.UtcNow, ClosedByErasure = true,
        }, Ct);

        using (var dapr = new DaprClientBuilder().UseHttpEndpoint(host.Sidecar.HttpEndpoint).UseGrpcEndpoint(host.Sidecar.GrpcEndpoint).Build())
        {
            await dapr.PublishEventAsync(DaprComponents.PubSub, Topics.SubjectErased,
                new SubjectErasedV1("acme", "user-1", "psn_x", "eu", DateTimeOffset.UtcNow, "root", [escalation.RequestId]), Ct);
        }

        // The workflow (waiting for 10 minutes) publishes the erasure's default now.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(Wait);
        var workflow = await host.Workflows.WaitForWorkflowCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(ReviewStatuses.Defaulted, workflow.ReadOutputAs<ReviewStatus>()!.Status);
        Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, id));
    }
}
