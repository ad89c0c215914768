using Dapr.DurableTask.Protobuf;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Grpc.Core;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>
/// A worker's answer that the store fails to write is not lost: once the store works again, the work is handed
/// out again and the workflow goes on. The test plays the worker with the SDK's gRPC client, on state.sqlite,
/// and makes the instance's writes fail with a trigger.
/// </summary>
public sealed class WorkflowStoreFailureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_turn_whose_result_could_not_be_stored_is_handed_to_the_worker_again()
    {
        await using var rig = await RawWorker.StartAsync("wf-store-failure");
        var id = $"turn-{Guid.NewGuid():N}";
        await rig.Hub.StartInstanceAsync(new CreateInstanceRequest { InstanceId = id, Name = "W", Input = "\"in\"" }, cancellationToken: Ct);
        var first = await rig.NextAsync();

        await using (await SqliteFaults.FailWritesAsync(rig.Database, rig.InstanceKey(id), SqliteFault.Error))
        {
            await Assert.ThrowsAsync<RpcException>(() => rig.Hub.CompleteWorkflowTaskAsync(Done(id, first.CompletionToken), cancellationToken: Ct).ResponseAsync);
        }

        var again = await rig.NextAsync();
        await rig.Hub.CompleteWorkflowTaskAsync(Done(id, again.CompletionToken), cancellationToken: Ct);
        var state = await rig.WaitForCompletionAsync(id);

        Assert.Equal(id, again.WorkflowRequest.InstanceId);
        Assert.Contains(again.WorkflowRequest.NewEvents, e => e.ExecutionStarted is not null);
        Assert.Equal(OrchestrationStatus.Completed, state.WorkflowState.WorkflowStatus);
        Assert.Equal("\"done\"", state.WorkflowState.Output);
    }

    [Fact]
    public async Task An_activity_whose_result_could_not_be_stored_runs_again()
    {
        await using var rig = await RawWorker.StartAsync("wf-store-failure");
        var id = $"activity-{Guid.NewGuid():N}";
        await rig.Hub.StartInstanceAsync(new CreateInstanceRequest { InstanceId = id, Name = "W", Input = "\"in\"" }, cancellationToken: Ct);
        var first = await rig.NextAsync();
        var schedule = new WorkflowResponse { InstanceId = id, CompletionToken = first.CompletionToken };
        schedule.Actions.Add(new WorkflowAction { Id = 0, ScheduleTask = new ScheduleTaskAction { Name = "A", Input = "1", TaskExecutionId = "exec-0" } });
        await rig.Hub.CompleteWorkflowTaskAsync(schedule, cancellationToken: Ct);
        var activity = await rig.NextAsync();

        await using (await SqliteFaults.FailWritesAsync(rig.Database, rig.InstanceKey(id), SqliteFault.Error))
        {
            await Assert.ThrowsAsync<RpcException>(() => rig.Hub.CompleteActivityTaskAsync(
                new ActivityResponse { InstanceId = id, TaskId = 0, Result = "\"lost\"", CompletionToken = activity.CompletionToken }, cancellationToken: Ct).ResponseAsync);
        }

        var again = await rig.NextAsync();
        await rig.Hub.CompleteActivityTaskAsync(
            new ActivityResponse { InstanceId = id, TaskId = 0, Result = "\"stored\"", CompletionToken = again.CompletionToken }, cancellationToken: Ct);
        var turn = await rig.NextAsync();

        Assert.Equal("exec-0", again.ActivityRequest.TaskExecutionId);
        Assert.Equal("\"stored\"", Assert.Single(turn.WorkflowRequest.NewEvents, e => e.TaskCompleted is not null).TaskCompleted.Result);
    }

    [Fact]
    public async Task A_start_whose_index_entry_could_not_be_stored_can_be_retried_and_runs()
    {
        await using var rig = await RawWorker.StartAsync("wf-store-failure");
        var id = $"start-{Guid.NewGuid():N}";
        var request = new CreateInstanceRequest { InstanceId = id, Name = "W", Input = "\"in\"" };

        await using (await SqliteFaults.FailWritesAsync(rig.Database, rig.IndexKey, SqliteFault.Error))
        {
            await Assert.ThrowsAsync<RpcException>(() => rig.Hub.StartInstanceAsync(request, cancellationToken: Ct).ResponseAsync);
        }

        await rig.Hub.StartInstanceAsync(request, cancellationToken: Ct);
        var turn = await rig.NextAsync();
        var listed = await rig.Hub.ListInstanceIDsAsync(new ListInstanceIDsRequest(), cancellationToken: Ct);

        Assert.Equal(id, turn.WorkflowRequest.InstanceId);
        Assert.Contains(turn.WorkflowRequest.NewEvents, e => e.ExecutionStarted is not null);
        Assert.Contains(id, listed.InstanceIds);
    }

    [Fact]
    public async Task A_child_that_ended_while_its_parent_could_not_be_written_is_reported_once_the_store_works()
    {
        await using var rig = await RawWorker.StartAsync("wf-store-failure");
        var (parent, child, childTurn) = await StartParentAndChildAsync(rig);

        await using (await SqliteFaults.FailWritesAsync(rig.Database, rig.InstanceKey(parent), SqliteFault.Error))
        {
            // The child's end is stored; telling the parent fails and is left to a retry.
            await rig.Hub.CompleteWorkflowTaskAsync(Done(child, childTurn.CompletionToken), cancellationToken: Ct);
        }

        var parentTurn = await rig.NextAsync();

        Assert.Equal(parent, parentTurn.WorkflowRequest.InstanceId);
        var completed = Assert.Single(parentTurn.WorkflowRequest.NewEvents, e => e.ChildWorkflowInstanceCompleted is not null).ChildWorkflowInstanceCompleted;
        Assert.Equal(0, completed.TaskScheduledId);
        Assert.Equal("\"done\"", completed.Result);
    }

    [Fact]
    public async Task A_child_end_the_parent_was_not_told_of_before_a_crash_is_reported_after_the_restart()
    {
        await using var rig = await RawWorker.StartAsync("wf-store-failure");
        var (parent, child, childTurn) = await StartParentAndChildAsync(rig);

        await using (await SqliteFaults.FailWritesAsync(rig.Database, rig.InstanceKey(parent), SqliteFault.Error))
        {
            await rig.Hub.CompleteWorkflowTaskAsync(Done(child, childTurn.CompletionToken), cancellationToken: Ct);
            await rig.RestartSidecarAsync();
        }

        var parentTurn = await rig.NextAsync();

        Assert.Equal(parent, parentTurn.WorkflowRequest.InstanceId);
        Assert.Single(parentTurn.WorkflowRequest.NewEvents, e => e.ChildWorkflowInstanceCompleted is not null);
        Assert.Single(parentTurn.WorkflowRequest.PastEvents.Concat(parentTurn.WorkflowRequest.NewEvents), e => e.ChildWorkflowInstanceCreated is not null);
    }

    /// <summary>Starts a parent whose first turn creates one child, and returns the child's first turn.</summary>
    private static async Task<(string Parent, string Child, WorkItem ChildTurn)> StartParentAndChildAsync(RawWorker rig)
    {
        var parent = $"parent-{Guid.NewGuid():N}";
        var child = $"{parent}-child";
        await rig.Hub.StartInstanceAsync(new CreateInstanceRequest { InstanceId = parent, Name = "P", Input = "\"in\"" }, cancellationToken: Ct);
        var first = await rig.NextAsync();
        var create = new WorkflowResponse { InstanceId = parent, CompletionToken = first.CompletionToken };
        create.Actions.Add(new WorkflowAction { Id = 0, CreateChildWorkflow = new CreateChildWorkflowAction { InstanceId = child, Name = "C", Input = "1" } });
        await rig.Hub.CompleteWorkflowTaskAsync(create, cancellationToken: Ct);
        var childTurn = await rig.NextAsync();
        Assert.Equal(child, childTurn.WorkflowRequest.InstanceId);
        return (parent, child, childTurn);
    }

    [Fact]
    public async Task An_unreadable_instance_in_the_store_does_not_stop_the_engine_at_start()
    {
        const string appId = "wf-store-corrupt";
        await using var rig = await RawWorker.StartAsync(appId, database => SeedAsync(database,
            ($"{appId}||dapr.internal.default.{appId}.workflow||index", "[\"bad\"]"),
            ($"{appId}||dapr.internal.default.{appId}.workflow||bad||state", "{not json")));
        var id = $"after-corrupt-{Guid.NewGuid():N}";

        await rig.Hub.StartInstanceAsync(new CreateInstanceRequest { InstanceId = id, Name = "W", Input = "\"in\"" }, cancellationToken: Ct);
        var turn = await rig.NextAsync();
        await rig.Hub.CompleteWorkflowTaskAsync(Done(id, turn.CompletionToken), cancellationToken: Ct);
        var state = await rig.WaitForCompletionAsync(id);

        Assert.Equal(OrchestrationStatus.Completed, state.WorkflowState.WorkflowStatus);
    }

    /// <summary>Writes raw rows into a new state.sqlite file, with the store's own schema.</summary>
    private static async Task SeedAsync(string database, params (string Key, string Value)[] rows)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE state (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL, is_binary BOOLEAN NOT NULL, etag TEXT NOT NULL,
              expiration_time TIMESTAMP DEFAULT NULL, update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
            """;
        await command.ExecuteNonQueryAsync(Ct);
        foreach (var (key, value) in rows)
        {
            command.CommandText = "INSERT INTO state (key, value, is_binary, etag) VALUES ($key, $value, 0, $etag)";
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$value", value);
            command.Parameters.AddWithValue("$etag", Guid.NewGuid().ToString());
            await command.ExecuteNonQueryAsync(Ct);
        }
    }

    private static WorkflowResponse Done(string id, string token)
    {
        var response = new WorkflowResponse { InstanceId = id, CompletionToken = token };
        response.Actions.Add(new WorkflowAction { Id = 0, CompleteWorkflow = new CompleteWorkflowAction { WorkflowStatus = OrchestrationStatus.Completed, Result = "\"done\"" } });
        return response;
    }
}
