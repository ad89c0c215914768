using Dapr.Workflow;
using Dapr.Workflow.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Workflows.Samples;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>
/// The moderation shape (activity, wait 2 s for a review decision, escalate, wait again, default decision):
/// with a decision, without one, and with the sidecar restarted in the middle of the wait.
/// </summary>
public sealed class ModerationWorkflowTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task Takes_the_reviewers_decision_when_it_arrives_within_the_first_wait()
    {
        await using var host = await WorkflowHost.StartAsync("wf-moderation-event", SampleRegistrations.All);
        var id = $"moderation-{Guid.NewGuid():N}";
        await host.Client.ScheduleNewWorkflowAsync(nameof(ModerationWorkflow), id, "a prompt");
        await Deadline.WaitUntilAsync(() => host.Probe.Count($"step:{id}:received") > 0, TimeSpan.FromSeconds(20), "the request to be recorded");

        await host.Client.RaiseEventAsync(id, "review decision", "allowed by reviewer", TestContext.Current.CancellationToken);
        var state = await host.WaitForCompletionAsync(id);

        Assert.Equal("allowed by reviewer", state.ReadOutputAs<string>());
        Assert.Equal(0, host.Probe.Count($"step:{id}:escalated"));
    }

    [Fact]
    public async Task Escalates_then_falls_back_to_the_default_decision_when_nobody_answers()
    {
        await using var host = await WorkflowHost.StartAsync("wf-moderation-none", SampleRegistrations.All);
        var id = $"moderation-{Guid.NewGuid():N}";

        var state = await host.RunAsync(nameof(ModerationWorkflow), id, "a prompt");

        Assert.Equal("blocked (default)", state.ReadOutputAs<string>());
        Assert.Equal(1, host.Probe.Count($"step:{id}:escalated"));
        Assert.Equal(1, host.Probe.Count($"step:{id}:defaulted"));
    }

    [Fact]
    public async Task Survives_a_sidecar_restart_in_the_middle_of_the_review_wait()
    {
        await using var host = await WorkflowHost.StartAsync("wf-moderation-kill", SampleRegistrations.All, WorkflowStoreKind.Redis, redis.Address);
        var id = $"moderation-{Guid.NewGuid():N}";
        await host.Client.ScheduleNewWorkflowAsync(nameof(ModerationWorkflow), id, "a prompt");
        await Deadline.WaitUntilAsync(async () =>
        {
            var history = await host.Client.GetInstanceHistoryAsync(id, TestContext.Current.CancellationToken);
            return history.Any(e => e.EventType == WorkflowHistoryEventType.TimerCreated);
        }, TimeSpan.FromSeconds(20), "the first review wait to start");

        await host.Sidecar.KillAsync();
        await host.RestartSidecarAsync();
        var state = await host.WaitForCompletionAsync(id, TimeSpan.FromSeconds(90));

        // Both review timeouts fired (the first while the sidecar was down or right after it came back).
        Assert.Equal("blocked (default)", state.ReadOutputAs<string>());
        Assert.Equal(1, host.Probe.Count($"step:{id}:received"));
        Assert.Equal(1, host.Probe.Count($"step:{id}:escalated"));
        Assert.Equal(1, host.Probe.Count($"step:{id}:defaulted"));
    }
}
