using Dapr.Workflow;
using Dapr.Workflow.Client;
using DaprLlm.Contracts.Safety;
using DaprLlm.Review.Tests.Infrastructure;
using DaprLlm.Safety.Review;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Review.Tests.Workflow;

/// <summary>The review wait survives the app and the sidecar being stopped in the middle of it (state in Redis).</summary>
public sealed class ReviewRestartTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_decision_after_an_app_restart_in_the_middle_of_the_wait_completes_the_review()
    {
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromMinutes(10));
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
        await WaitForTimerAsync(host, id);

        await host.RestartAppAsync();
        await host.Reviews.ClaimAsync(ReviewHost.Alice, id, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Block, ["hate"], null, Ct);

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(Wait);
        var state = await host.Workflows.WaitForWorkflowCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal(ReviewStatuses.Blocked, state.ReadOutputAs<ReviewStatus>()!.Status);
        Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, id));
    }

    [Fact]
    public async Task Timeouts_still_escalate_and_default_when_the_app_and_the_sidecar_were_down_during_the_wait()
    {
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromSeconds(3));
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(severity: "critical"), Ct);
        var created = await WaitForTimerAsync(host, id);

        // Both down until the first SLA has passed: the timer fires late, on restart.
        await host.App.StopAsync();
        await host.Sidecar.KillAsync();
        await Deadline.WaitUntilAsync(() => DateTime.UtcNow > created.ToUniversalTime().AddSeconds(3.5), TimeSpan.FromSeconds(10), "the first SLA to pass");
        await host.Sidecar.RestartAsync(ReviewHost.StartTimeout);
        host.App.Start();

        var status = await host.WaitForStatusAsync(id, s => s.Status == ReviewStatuses.Defaulted, Wait, "the default after restart");
        Assert.Equal(ReviewStatuses.Block, status.Decision);
        await Deadline.WaitUntilAsync(async () => (await host.PublishedAsync(ReviewNames.DecidedTopic, id)).Count > 0, Wait, "review.decided");
        Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, id));
        Assert.Equal(2, (await host.PublishedAsync(ReviewNames.CreatedTopic, id)).Count);
    }

    /// <summary>Waits until the workflow's first SLA timer exists; returns when it was created.</summary>
    private static async Task<DateTime> WaitForTimerAsync(ReviewHost host, string id)
    {
        DateTime? created = null;
        await Deadline.WaitUntilAsync(async () =>
        {
            try
            {
                var history = await host.Workflows.GetInstanceHistoryAsync(id, Ct);
                created = history.FirstOrDefault(e => e.EventType == WorkflowHistoryEventType.TimerCreated)?.Timestamp;
                return created is not null;
            }
            catch (Grpc.Core.RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(40), "the review's SLA timer");
        return created!.Value;
    }
}
