using Dapr.Workflow;
using DaprLlm.Sidecar.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Workflows.Samples;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>The unchanged Dapr.Workflow 1.19 SDK against a real sidecar: one feature per test.</summary>
public sealed class WorkflowConformanceTests(InMemoryWorkflowFixture fixture) : IClassFixture<InMemoryWorkflowFixture>
{
    private WorkflowHost Host => fixture.Host;

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Reports_the_connected_worker_in_the_metadata_api()
    {
        using var http = new HttpClient();
        var json = "";

        // The worker connects in the background after the fixture started (this test failed when it ran first on a busy machine).
        await Deadline.WaitUntilAsync(async () =>
        {
            json = await http.GetStringAsync($"{Host.Sidecar.HttpEndpoint}/v1.0/metadata", TestContext.Current.CancellationToken);
            return System.Text.Json.Nodes.JsonNode.Parse(json)!["workflows"]!["connectedWorkers"]!.GetValue<int>() >= 1;
        }, TimeSpan.FromSeconds(30), "the workflow worker to connect");

        var workers = System.Text.Json.Nodes.JsonNode.Parse(json)!["workflows"]!["connectedWorkers"]!.GetValue<int>();
        Assert.True(workers >= 1, json);
    }

    [Fact]
    public async Task Runs_an_activity_with_input_and_output_and_reports_custom_status()
    {
        var id = NewId("greet");

        var state = await Host.RunAsync(nameof(GreetingWorkflow), id, "Ada");

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal("Hello, Ada!", state.ReadOutputAs<string>());
        Assert.Equal("Ada", state.ReadInputAs<string>());
        Assert.Equal("greeted", state.ReadCustomStatusAs<System.Text.Json.JsonElement>().GetProperty("stage").GetString());
        Assert.Equal(nameof(GreetingWorkflow), state.WorkflowName);
        Assert.Equal(1, Host.Probe.Count($"hello:{id}"));
    }

    [Fact]
    public async Task Retries_a_failing_activity_with_the_retry_policy_until_it_succeeds()
    {
        var id = NewId("retry");

        var state = await Host.RunAsync(nameof(RetryWorkflow), id, 3);

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal(3, state.ReadOutputAs<int>());
    }

    [Fact]
    public async Task Fails_the_workflow_with_failure_details_when_retries_are_exhausted()
    {
        var id = NewId("retry-fail");

        var state = await Host.RunAsync(nameof(RetryWorkflow), id, 10);

        Assert.Equal(WorkflowRuntimeStatus.Failed, state.RuntimeStatus);
        Assert.NotNull(state.FailureDetails);
        Assert.Contains("flaky failure on attempt 3", state.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(3, Host.Probe.Count($"flaky:{id}"));
    }

    [Fact]
    public async Task Fires_a_durable_timer_after_its_delay()
    {
        var id = NewId("timer");

        var state = await Host.RunAsync(nameof(TimerWorkflow), id, 700);

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.True(state.ReadOutputAs<double>() >= 700, $"waited {state.ReadOutputAs<double>()} ms on the workflow clock");
    }

    [Fact]
    public async Task Delivers_an_external_event_to_a_waiting_workflow()
    {
        var id = NewId("event");
        await Host.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), id, 0);
        await Host.WaitForStatusAsync(id, WorkflowRuntimeStatus.Running);

        await Host.Client.RaiseEventAsync(id, "approval", "approved by Grace", TestContext.Current.CancellationToken);
        var state = await Host.WaitForCompletionAsync(id);

        Assert.Equal("approved by Grace", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Times_out_a_wait_for_an_event_that_never_comes()
    {
        var id = NewId("event-timeout");

        var state = await Host.RunAsync(nameof(ApprovalWorkflow), id, 500);

        Assert.Equal("timed out", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Takes_an_event_within_its_timeout()
    {
        var id = NewId("event-in-time");
        await Host.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), id, 20_000);
        await Host.WaitForStatusAsync(id, WorkflowRuntimeStatus.Running);

        await Host.Client.RaiseEventAsync(id, "approval", "yes", TestContext.Current.CancellationToken);
        var state = await Host.WaitForCompletionAsync(id);

        Assert.Equal("yes", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Buffers_an_event_raised_before_the_workflow_waits_for_it()
    {
        var id = NewId("early");
        await Host.Client.ScheduleNewWorkflowAsync(nameof(LateWaitWorkflow), id, id);
        await Host.Client.RaiseEventAsync(id, "approval", "early bird", TestContext.Current.CancellationToken);
        await Deadline.WaitUntilAsync(() => Host.Probe.Count($"gated:{id}") > 0, TimeSpan.FromSeconds(20), "the gated activity to start");

        Host.Probe.Open(id);
        var state = await Host.WaitForCompletionAsync(id);

        Assert.Equal("early bird", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Runs_a_child_workflow_and_returns_its_result_to_the_parent()
    {
        var id = NewId("parent");

        var state = await Host.RunAsync(nameof(ParentWorkflow), id, "Linus");

        Assert.Equal("parent got: Hello, Linus!", state.ReadOutputAs<string>());
        var child = await Host.Client.GetWorkflowStateAsync($"{id}-child", true, TestContext.Current.CancellationToken);
        Assert.Equal(WorkflowRuntimeStatus.Completed, child!.RuntimeStatus);
    }

    [Fact]
    public async Task Fans_out_a_hundred_activities_and_fans_in_their_results()
    {
        var id = NewId("fan");

        var state = await Host.RunAsync(nameof(FanOutWorkflow), id, 100, TimeSpan.FromSeconds(60));

        Assert.Equal(Enumerable.Range(1, 100).Sum(i => i * i), state.ReadOutputAs<int>());
        Assert.Equal(100, Host.Probe.Count($"square:{id}"));
    }

    [Fact]
    public async Task Continues_as_new_with_fresh_history_until_done()
    {
        var id = NewId("counter");

        var state = await Host.RunAsync(nameof(CounterWorkflow), id, 0);

        Assert.Equal(3, state.ReadOutputAs<int>());
        Assert.Equal(4, Host.Probe.Count($"square:{id}"));
        var history = await Host.Client.GetInstanceHistoryAsync(id, TestContext.Current.CancellationToken);
        Assert.Single(history, e => e.EventType == Dapr.Workflow.Client.WorkflowHistoryEventType.ExecutionStarted);
    }

    [Fact]
    public async Task Rejects_starting_an_instance_id_that_is_still_running()
    {
        var id = NewId("dup");
        await Host.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), id, 0);

        await Assert.ThrowsAnyAsync<Exception>(() => Host.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), id, 0));

        await Host.Client.TerminateWorkflowAsync(id, null, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Suspends_holds_events_and_resumes_a_workflow()
    {
        var id = NewId("suspend");
        await Host.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), id, 0);
        await Host.WaitForStatusAsync(id, WorkflowRuntimeStatus.Running);

        await Host.Client.SuspendWorkflowAsync(id, "maintenance", TestContext.Current.CancellationToken);
        await Host.Client.RaiseEventAsync(id, "approval", "while suspended", TestContext.Current.CancellationToken);
        await Host.WaitForStatusAsync(id, WorkflowRuntimeStatus.Suspended);
        var held = await Host.Client.GetWorkflowStateAsync(id, true, TestContext.Current.CancellationToken);
        await Host.Client.ResumeWorkflowAsync(id, "done", TestContext.Current.CancellationToken);
        var state = await Host.WaitForCompletionAsync(id);

        Assert.Equal(WorkflowRuntimeStatus.Suspended, held!.RuntimeStatus);
        Assert.Equal("while suspended", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Terminates_a_workflow_and_its_children_then_purges_it()
    {
        var id = NewId("terminate");
        await Host.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), id, 0);
        await Host.WaitForStatusAsync(id, WorkflowRuntimeStatus.Running);

        await Host.Client.TerminateWorkflowAsync(id, "stopped by test", TestContext.Current.CancellationToken);
        var state = await Host.WaitForCompletionAsync(id);
        var purged = await Host.Client.PurgeInstanceAsync(id, TestContext.Current.CancellationToken);
        var after = await Host.Client.GetWorkflowStateAsync(id, false, TestContext.Current.CancellationToken);

        Assert.Equal(WorkflowRuntimeStatus.Terminated, state.RuntimeStatus);
        Assert.Equal("stopped by test", state.ReadOutputAs<string>());
        Assert.True(purged);
        Assert.False(after?.Exists ?? false);
    }

    [Fact]
    public async Task Refuses_to_purge_a_running_workflow()
    {
        var id = NewId("purge-running");
        await Host.Client.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), id, 0);
        await Host.WaitForStatusAsync(id, WorkflowRuntimeStatus.Running);

        await Assert.ThrowsAnyAsync<Exception>(() => Host.Client.PurgeInstanceAsync(id, TestContext.Current.CancellationToken));
        var state = await Host.Client.GetWorkflowStateAsync(id, false, TestContext.Current.CancellationToken);

        Assert.Equal(WorkflowRuntimeStatus.Running, state!.RuntimeStatus);
        await Host.Client.TerminateWorkflowAsync(id, null, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Lists_instance_ids_in_pages_and_returns_the_history()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var id = NewId("list");
            ids.Add(id);
            await Host.RunAsync(nameof(GreetingWorkflow), id, $"n{i}");
        }

        var all = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await Host.Client.ListInstanceIdsAsync(token, 2, TestContext.Current.CancellationToken);
            Assert.True(page.InstanceIds.Count <= 2);
            all.AddRange(page.InstanceIds);
            token = page.ContinuationToken;
            pages++;
        }
        while (!string.IsNullOrEmpty(token) && pages < 1000);
        var history = await Host.Client.GetInstanceHistoryAsync(ids[0], TestContext.Current.CancellationToken);

        Assert.All(ids, id => Assert.Contains(id, all));
        Assert.True(pages >= 2);
        var types = history.Select(e => e.EventType).ToList();
        Assert.Equal(Dapr.Workflow.Client.WorkflowHistoryEventType.ExecutionStarted, types.First(t => t != Dapr.Workflow.Client.WorkflowHistoryEventType.OrchestratorStarted));
        Assert.Contains(Dapr.Workflow.Client.WorkflowHistoryEventType.TaskScheduled, types);
        Assert.Contains(Dapr.Workflow.Client.WorkflowHistoryEventType.TaskCompleted, types);
        Assert.Equal(Dapr.Workflow.Client.WorkflowHistoryEventType.ExecutionCompleted, types[^1]);
    }
}
