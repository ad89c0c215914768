using Dapr.Workflow;
using Dapr.Workflow.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Workflows.Samples;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>
/// Kill the sidecar or stop the app at each wait point (activity in flight, timer pending, waiting for an
/// event) and start it again: the workflow ends with the same result. Runs on Redis and on SQLite.
/// </summary>
public sealed class WorkflowRestartTests(RedisServer redis) : IClassFixture<RedisServer>
{
    public static TheoryData<WorkflowStoreKind> DurableStores => [WorkflowStoreKind.Redis, WorkflowStoreKind.Sqlite];

    [Theory]
    [MemberData(nameof(DurableStores))]
    public async Task Finishes_with_the_same_result_when_the_sidecar_is_killed_at_every_wait_point(WorkflowStoreKind store)
    {
        await using var host = await WorkflowHost.StartAsync($"wf-kill-{store}-{Guid.NewGuid():N}"[..24], SampleRegistrations.All, store, redis.Address);
        var id = $"restart-{Guid.NewGuid():N}";
        await host.Client.ScheduleNewWorkflowAsync(nameof(RestartWorkflow), id, id);

        // 1. The activity is running in the app when the sidecar dies.
        await Deadline.WaitUntilAsync(() => host.Probe.Count($"gated:{id}") > 0, TimeSpan.FromSeconds(20), "the activity to start");
        await host.Sidecar.KillAsync();
        await host.RestartSidecarAsync();
        host.Probe.Open(id);

        // 2. The timer is pending when the sidecar dies, and comes due while it is down.
        var timerCreated = await WaitForHistoryAsync(host, id, WorkflowHistoryEventType.TimerCreated);
        await host.Sidecar.KillAsync();
        await WaitUntilPastAsync(timerCreated.Timestamp.ToUniversalTime().AddSeconds(2.2));
        await host.RestartSidecarAsync();

        // 3. The workflow waits for an event when the sidecar dies.
        await WaitForHistoryAsync(host, id, WorkflowHistoryEventType.TimerFired, TimeSpan.FromSeconds(40));
        await host.Sidecar.KillAsync();
        await host.RestartSidecarAsync();
        await host.Client.RaiseEventAsync(id, "approval", "approved", TestContext.Current.CancellationToken);
        var state = await host.WaitForCompletionAsync(id, TimeSpan.FromSeconds(90));

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal($"passed {id}, then approved", state.ReadOutputAs<string>());
        var history = await host.Client.GetInstanceHistoryAsync(id, TestContext.Current.CancellationToken);
        Assert.Single(history, e => e.EventType == WorkflowHistoryEventType.TaskCompleted);
        Assert.Single(history, e => e.EventType == WorkflowHistoryEventType.TimerFired);
    }

    [Theory]
    [MemberData(nameof(DurableStores))]
    public async Task Finishes_with_the_same_result_when_the_app_is_restarted_at_every_wait_point(WorkflowStoreKind store)
    {
        await using var host = await WorkflowHost.StartAsync($"wf-app-{store}-{Guid.NewGuid():N}"[..24], SampleRegistrations.All, store, redis.Address);
        var id = $"app-restart-{Guid.NewGuid():N}";
        await host.Client.ScheduleNewWorkflowAsync(nameof(RestartWorkflow), id, id);

        // 1. The app stops while the activity runs: the activity runs again on the restarted app.
        await Deadline.WaitUntilAsync(() => host.Probe.Count($"gated:{id}") > 0, TimeSpan.FromSeconds(20), "the activity to start");
        await host.App.StopAsync();
        host.Probe.Open(id);
        await host.App.StartAsync();

        // 2. The app is down while the timer comes due.
        var timerCreated = await WaitForHistoryAsync(host, id, WorkflowHistoryEventType.TimerCreated, TimeSpan.FromSeconds(40));
        await host.App.StopAsync();
        await WaitUntilPastAsync(timerCreated.Timestamp.ToUniversalTime().AddSeconds(2.2));
        await host.App.StartAsync();

        // 3. The app is down when the event is raised.
        await WaitForHistoryAsync(host, id, WorkflowHistoryEventType.TimerFired, TimeSpan.FromSeconds(40));
        await host.App.StopAsync();
        await host.Client.RaiseEventAsync(id, "approval", "approved", TestContext.Current.CancellationToken);
        await host.App.StartAsync();
        var state = await host.WaitForCompletionAsync(id, TimeSpan.FromSeconds(90));

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal($"passed {id}, then approved", state.ReadOutputAs<string>());
        Assert.True(host.Probe.Count($"gated:{id}") >= 2, "the interrupted activity ran again");
        var history = await host.Client.GetInstanceHistoryAsync(id, TestContext.Current.CancellationToken);
        Assert.Single(history, e => e.EventType == WorkflowHistoryEventType.TaskCompleted);
    }

    private static async Task<WorkflowHistoryEvent> WaitForHistoryAsync(WorkflowHost host, string id, WorkflowHistoryEventType type, TimeSpan? timeout = null)
    {
        WorkflowHistoryEvent? found = null;
        await Deadline.WaitUntilAsync(async () =>
        {
            try
            {
                var history = await host.Client.GetInstanceHistoryAsync(id, TestContext.Current.CancellationToken);
                found = history.FirstOrDefault(e => e.EventType == type);
                return found is not null;
            }
            catch (Grpc.Core.RpcException)
            {
                return false;
            }
        }, timeout ?? TimeSpan.FromSeconds(40), $"{type} in the history of '{id}'");
        return found!;
    }

    /// <summary>Polls the clock until a timer's due time has passed while a process is down (so it fires late, on restart).</summary>
    private static Task WaitUntilPastAsync(DateTime dueUtc) =>
        Deadline.WaitUntilAsync(() => DateTime.UtcNow > dueUtc, TimeSpan.FromSeconds(10), "the timer to come due");
}
