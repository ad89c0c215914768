using System.Diagnostics;
using Dapr.DurableTask.Protobuf;
using DaprLlm.Sidecar.State;
using Grpc.Core;

namespace DaprLlm.Sidecar.Workflows;

public sealed partial class WorkflowEngine
{
    /// <summary>
    /// Effects of a committed turn on this sidecar's in-memory queues (effects on other instances go through the
    /// instance's outbox, written with the turn).
    /// </summary>
    private sealed class TurnEffects
    {
        public List<(int TaskId, TaskScheduledEvent Scheduled, TaskRouter? Router)> Activities { get; } = [];
        public List<(int TimerId, DateTimeOffset FireAt)> Timers { get; } = [];
        public List<(InstanceRecord Child, string HostAppId, string? ETag)> Children { get; } = [];
        public bool ContinuedAsNew { get; set; }
        public OrchestrationStatus? Finished { get; set; }
    }

    /// <summary>Applies the worker's answer to an orchestrator work item. Stale or duplicate answers are ignored.</summary>
    public async Task CompleteOrchestratorAsync(WorkflowResponse response, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        var instanceId = response.InstanceId;
        if (!_turns.TryGetValue(instanceId, out var turn) || turn.Token != response.CompletionToken)
        {
            LogStaleCompletion(logger, instanceId);
            return;
        }

        var effects = new TurnEffects();
        InstanceRecord? record = null;
        var committed = false;
        try
        {
            // The engine's token, not the caller's: a worker that hangs up while we wait for the instance lock
            // must not cancel a commit halfway, nor leave the turn's effects unapplied once it is committed.
            var children = await LoadChildrenAsync(instanceId, response, _stopping);
            record = await MutateAsync(instanceId, r =>
            {
                if (r is null || r.IsTerminal)
                {
                    return null;
                }

                effects = new TurnEffects();
                return ApplyTurn(r, turn, response, children, effects);
            }, _stopping);
            committed = true;
        }
        finally
        {
            // A turn that failed to commit (store error, lost ETag races) is run again: nothing else would
            // re-queue the instance, and its inbox would wait for the next event or a restart.
            if (_turns.TryRemove(KeyValuePair.Create(instanceId, turn)) && !committed)
            {
                RetryLater(instanceId);
            }
        }

        if (record is null)
        {
            return;
        }

        ApplyEffects(record, effects);
        if (record.Outbox.Count > 0)
        {
            await DrainAfterCommitAsync(instanceId);
        }

        if (record.Inbox.Count > 0 && !record.IsTerminal)
        {
            EnqueueOrchestration(instanceId);
        }
    }

    /// <summary>
    /// Reads the instances a turn's child workflows would take the ids of (the change applied under the parent's
    /// lock cannot wait for the store). Their ETags guard the creation, so a child never replaces an instance that
    /// became active after this read.
    /// </summary>
    private async Task<Dictionary<(string AppId, string InstanceId), LoadedInstance?>> LoadChildrenAsync(string parentId,
        WorkflowResponse response, CancellationToken cancellationToken)
    {
        var children = new Dictionary<(string AppId, string InstanceId), LoadedInstance?>();
        foreach (var action in response.Actions)
        {
            if (action.CreateChildWorkflow is not null)
            {
                var key = (ChildHostAppId(action), ChildId(parentId, action));
                if (!children.ContainsKey(key))
                {
                    children[key] = await Store.For(key.Item1).LoadAsync(key.Item2, cancellationToken);
                }
            }
        }

        return children;
    }

    private static string ChildId(string parentId, WorkflowAction action) =>
        string.IsNullOrEmpty(action.CreateChildWorkflow.InstanceId) ? $"{parentId}:{action.Id:X4}" : action.CreateChildWorkflow.InstanceId;

    // A child routed to another app is created in that app's scope and run by its worker, as daprd does.
    private string ChildHostAppId(WorkflowAction action) =>
        (action.CreateChildWorkflow.Router ?? action.Router)?.TargetAppID is { Length: > 0 } target ? target : options.AppId;

    private List<StateOperation> ApplyTurn(InstanceRecord r, Turn turn, WorkflowResponse response,
        Dictionary<(string AppId, string InstanceId), LoadedInstance?> children, TurnEffects effects)
    {
        var ops = new List<StateOperation>();
        var delivered = r.Inbox.Take(turn.InboxCount).ToList();
        r.Inbox.RemoveRange(0, Math.Min(turn.InboxCount, r.Inbox.Count));
        r.AddHistory(turn.Started);
        r.History.AddRange(delivered);
        if (r.Status == OrchestrationStatus.Pending)
        {
            r.Status = OrchestrationStatus.Running;
        }

        if (response.CustomStatus is not null)
        {
            r.CustomStatus = response.CustomStatus;
        }

        var now = NowTimestamp;
        foreach (var action in response.Actions)
        {
            switch (action.WorkflowActionTypeCase)
            {
                case WorkflowAction.WorkflowActionTypeOneofCase.ScheduleTask:
                {
                    var a = action.ScheduleTask;
                    var scheduled = new TaskScheduledEvent
                    {
                        Name = a.Name, Version = a.Version, Input = a.Input, TaskExecutionId = a.TaskExecutionId,
                    };
                    var router = a.Router ?? action.Router;
                    r.AddHistory(new HistoryEvent { EventId = action.Id, Timestamp = now, TaskScheduled = scheduled, Router = router });
                    effects.Activities.Add((action.Id, scheduled, router));
                    break;
                }

                case WorkflowAction.WorkflowActionTypeOneofCase.CreateTimer:
                {
                    var a = action.CreateTimer;
                    var created = new TimerCreatedEvent { FireAt = a.FireAt, Name = a.Name };
                    switch (a.OriginCase)
                    {
                        case CreateTimerAction.OriginOneofCase.CreateTimer: created.CreateTimer = a.CreateTimer; break;
                        case CreateTimerAction.OriginOneofCase.ExternalEvent: created.ExternalEvent = a.ExternalEvent; break;
                        case CreateTimerAction.OriginOneofCase.ActivityRetry: created.ActivityRetry = a.ActivityRetry; break;
                        case CreateTimerAction.OriginOneofCase.ChildWorkflowRetry: created.ChildWorkflowRetry = a.ChildWorkflowRetry; break;
                    }

                    r.AddHistory(new HistoryEvent { EventId = action.Id, Timestamp = now, TimerCreated = created });
                    effects.Timers.Add((action.Id, a.FireAt.ToDateTimeOffset()));
                    break;
                }

                case WorkflowAction.WorkflowActionTypeOneofCase.CreateChildWorkflow:
                {
                    var a = action.CreateChildWorkflow;
                    var childId = ChildId(r.InstanceId, action);
                    var router = a.Router ?? action.Router;
                    var hostAppId = ChildHostAppId(action);
                    r.AddHistory(new HistoryEvent
                    {
                        EventId = action.Id,
                        Timestamp = now,
                        ChildWorkflowInstanceCreated = new ChildWorkflowInstanceCreatedEvent { InstanceId = childId, Name = a.Name, Version = a.Version, Input = a.Input },
                        Router = router,
                    });
                    children.TryGetValue((hostAppId, childId), out var existing);
                    if (existing is { Record.IsTerminal: false } || effects.Children.Exists(c => c.HostAppId == hostAppId && c.Child.InstanceId == childId))
                    {
                        // An active instance (the parent itself included) is never replaced: like daprd, the
                        // parent's task fails instead.
                        r.AddInbox(new HistoryEvent
                        {
                            EventId = -1,
                            Timestamp = now,
                            ChildWorkflowInstanceFailed = new ChildWorkflowInstanceFailedEvent
                            {
                                TaskScheduledId = action.Id,
                                FailureDetails = new TaskFailureDetails
                                {
                                    ErrorType = "AlreadyExists",
                                    ErrorMessage = $"an active workflow with ID '{childId}' already exists",
                                },
                            },
                        });
                        break;
                    }

                    var child = NewInstance(childId, a.Name, a.Version, a.Input, null, null, null, new ParentInstanceInfo
                    {
                        TaskScheduledId = action.Id,
                        Name = r.Name,
                        WorkflowInstance = new WorkflowInstance { InstanceId = r.InstanceId, ExecutionId = r.ExecutionId },
                        AppID = options.AppId,
                    }, hostAppId);
                    effects.Children.Add((child, hostAppId, existing?.ETag));
                    r.Outbox.Add(OutboxEntry.StartChild(hostAppId, childId));
                    break;
                }

                case WorkflowAction.WorkflowActionTypeOneofCase.SendEvent:
                {
                    var a = action.SendEvent;
                    r.AddHistory(new HistoryEvent
                    {
                        EventId = action.Id,
                        Timestamp = now,
                        EventSent = new EventSentEvent { InstanceId = a.Instance?.InstanceId ?? "", Name = a.Name, Input = a.Data },
                    });
                    if (a.Instance?.InstanceId is { Length: > 0 } target)
                    {
                        r.Outbox.Add(OutboxEntry.Deliver(options.AppId, target, new HistoryEvent
                        {
                            EventId = -1, Timestamp = now, EventRaised = new EventRaisedEvent { Name = a.Name, Input = a.Data },
                        }));
                    }

                    break;
                }

                case WorkflowAction.WorkflowActionTypeOneofCase.TerminateWorkflow:
                {
                    var a = action.TerminateWorkflow;
                    r.Outbox.Add(OutboxEntry.Terminate(options.AppId, a.InstanceId, a.Reason, a.Recurse));
                    break;
                }

                case WorkflowAction.WorkflowActionTypeOneofCase.CompleteWorkflow:
                    Complete(r, action.CompleteWorkflow, effects, now);
                    break;
            }
        }

        foreach (var (child, hostAppId, etag) in effects.Children)
        {
            // A child id reused from a finished instance is replaced, as StartInstance does; the ETag read before the
            // turn makes the write fail (and the turn run again) if the id was taken meanwhile.
            ops.Add(Store.For(hostAppId).Save(child, etag));
        }

        return ops;
    }

    private void Complete(InstanceRecord r, CompleteWorkflowAction a, TurnEffects effects, Google.Protobuf.WellKnownTypes.Timestamp now)
    {
        if (a.WorkflowStatus == OrchestrationStatus.ContinuedAsNew)
        {
            // A new execution of the same instance: fresh history, the new input, carried-over events first.
            var previousInbox = r.Inbox.ToList();
            r.ExecutionId = Guid.NewGuid().ToString("N");
            r.Input = a.Result;
            r.Output = null;
            r.History.Clear();
            r.Inbox.Clear();
            r.AddInbox(StartedEvent(r, a.Result, ParentInfo(r)));
            foreach (var carried in a.CarryoverEvents)
            {
                r.AddInbox(carried);
            }

            r.Inbox.AddRange(previousInbox);
            effects.ContinuedAsNew = true;
            return;
        }

        r.AddHistory(new HistoryEvent
        {
            EventId = -1,
            Timestamp = now,
            ExecutionCompleted = new ExecutionCompletedEvent { WorkflowStatus = a.WorkflowStatus, Result = a.Result, FailureDetails = a.FailureDetails },
        });
        r.Status = a.WorkflowStatus;
        r.Output = a.Result;
        r.FailureDetails = a.FailureDetails;
        if (WorkflowStatus.IsTerminal(a.WorkflowStatus))
        {
            r.CompletedAt = Now;
            r.Inbox.Clear();
            AddParentNotice(r, a.WorkflowStatus);
            effects.Finished = a.WorkflowStatus;
        }
    }

    private ParentInstanceInfo? ParentInfo(InstanceRecord r) => r.ParentInstanceId is null ? null : new ParentInstanceInfo
    {
        TaskScheduledId = r.ParentTaskId,
        WorkflowInstance = new WorkflowInstance { InstanceId = r.ParentInstanceId },
        AppID = r.ParentAppId ?? options.AppId,
    };

    private void ApplyEffects(InstanceRecord record, TurnEffects effects)
    {
        if (effects.ContinuedAsNew)
        {
            CancelTimers(record.InstanceId);
            DropActivities(record.InstanceId);
        }

        foreach (var (taskId, scheduled, router) in effects.Activities)
        {
            EnqueueActivity(record, taskId, scheduled, router);
        }

        foreach (var (timerId, fireAt) in effects.Timers)
        {
            ArmTimer(record.InstanceId, record.ExecutionId, timerId, fireAt);
        }

        foreach (var _ in effects.Children)
        {
            metrics.Started();
        }

        if (effects.Finished is { } status)
        {
            OnFinished(record, status);
        }
    }

    /// <summary>Stops an ended instance's timers and activities and counts its end.</summary>
    private void OnFinished(InstanceRecord record, OrchestrationStatus status)
    {
        CancelTimers(record.InstanceId);
        DropActivities(record.InstanceId);
        metrics.Finished(status switch
        {
            OrchestrationStatus.Completed => "completed",
            OrchestrationStatus.Failed => "failed",
            OrchestrationStatus.Terminated => "terminated",
            _ => "other",
        });
    }

    /// <summary>Puts the report of an ended child to its parent, if any, in the child's outbox (call with the end stored in the record).</summary>
    private void AddParentNotice(InstanceRecord record, OrchestrationStatus status)
    {
        if (record.ParentInstanceId is not { } parentId)
        {
            return;
        }

        var now = NowTimestamp;
        var message = status == OrchestrationStatus.Completed
            ? new HistoryEvent
            {
                EventId = -1, Timestamp = now,
                ChildWorkflowInstanceCompleted = new ChildWorkflowInstanceCompletedEvent { TaskScheduledId = record.ParentTaskId, Result = record.Output },
            }
            : new HistoryEvent
            {
                EventId = -1, Timestamp = now,
                ChildWorkflowInstanceFailed = new ChildWorkflowInstanceFailedEvent
                {
                    TaskScheduledId = record.ParentTaskId,
                    FailureDetails = record.FailureDetails ?? new TaskFailureDetails
                    {
                        ErrorType = "WorkflowTerminated",
                        ErrorMessage = $"child workflow '{record.InstanceId}' ended with status {status}",
                    },
                },
            };
        record.Outbox.Add(OutboxEntry.Deliver(record.ParentAppId ?? options.AppId, parentId, message));
    }

    /// <summary>Queues an instance of this app, or tells another app's sidecar (through the shared store) to look at it.</summary>
    private async Task WakeAsync(string appId, string instanceId, CancellationToken cancellationToken)
    {
        if (appId == options.AppId)
        {
            EnqueueOrchestration(instanceId);
            return;
        }

        var store = Store.For(appId);
        await store.UpdateListAsync<string>(store.WakeKey, list =>
        {
            if (list.Contains(instanceId, StringComparer.Ordinal))
            {
                return false;
            }

            list.Add(instanceId);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Appends an activity result to the owning instance's history exactly once; duplicates and stale results are
    /// ignored. The owner may be another app's workflow (cross-app activity): its state is written with that app's
    /// prefix and its sidecar is woken through the shared store.
    /// </summary>
    public async Task CompleteActivityAsync(ActivityResponse response, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        var parsed = ParseActivityToken(response.CompletionToken);
        var owner = parsed?.OwnerAppId ?? options.AppId;
        var instanceId = parsed?.InstanceId ?? response.InstanceId;
        var taskId = parsed?.TaskId ?? response.TaskId;
        // The item stays "pending" until its result is stored: a cross-app one also until it is off the shared
        // queue, or the poller would hand it out again.
        var remote = owner != options.AppId;
        var item = _pendingActivities.GetValueOrDefault(response.CompletionToken);
        var appended = false;
        try
        {
            // The engine's token: once the worker has the result, a request cancelled now must not lose it.
            await MutateAsync(Store.For(owner), instanceId, AppendResult, _stopping);
        }
        catch when (!remote && item is not null)
        {
            // The result was not stored: run the activity again (at-least-once, as when a worker disconnects).
            RetryActivityLater(item);
            throw;
        }

        var removed = !remote && _pendingActivities.TryRemove(response.CompletionToken, out _);
        if ((remote || removed) && item is { DispatchedAt: > 0 })
        {
            metrics.ActivityCompleted(Stopwatch.GetElapsedTime(item.DispatchedAt), response.FailureDetails is not null);
        }

        if (remote)
        {
            // Done with the cross-app item (also when the result was a duplicate): drop it from our shared queue.
            // Marked finished first: a poll that read the queue before this removal must not run it again.
            _finishedRemoteActivities.TryAdd(response.CompletionToken, 0);
            await Store.UpdateListAsync<RemoteActivity>(Store.RemoteActivitiesKey,
                list => list.RemoveAll(a => a.Token == response.CompletionToken) > 0, _stopping);
            _pendingActivities.TryRemove(response.CompletionToken, out _);
            if (appended)
            {
                await WakeAsync(owner, instanceId, _stopping);
            }
        }
        else if (appended)
        {
            EnqueueOrchestration(instanceId);
        }

        if (!appended)
        {
            LogStaleCompletion(logger, instanceId);
        }

        List<StateOperation>? AppendResult(InstanceRecord? r)
        {
            if (r is null || r.IsTerminal || (parsed is { } p && p.ExecutionId != r.ExecutionId))
            {
                return null;
            }

            var scheduled = r.HistoryEvents().FirstOrDefault(e => e.EventId == taskId && e.TaskScheduled is not null);
            if (scheduled is null || r.HistoryEvents().Concat(r.InboxEvents())
                    .Any(e => (e.TaskCompleted?.TaskScheduledId ?? e.TaskFailed?.TaskScheduledId) == taskId))
            {
                return null;
            }

            r.AddInbox(response.FailureDetails is { } failure
                ? new HistoryEvent
                {
                    EventId = -1, Timestamp = NowTimestamp,
                    TaskFailed = new TaskFailedEvent { TaskScheduledId = taskId, FailureDetails = failure, TaskExecutionId = scheduled.TaskScheduled.TaskExecutionId },
                }
                : new HistoryEvent
                {
                    EventId = -1, Timestamp = NowTimestamp,
                    TaskCompleted = new TaskCompletedEvent { TaskScheduledId = taskId, Result = response.Result, TaskExecutionId = scheduled.TaskScheduled.TaskExecutionId },
                });
            appended = true;
            return [];
        }
    }

    private static RpcException NotFound(string instanceId) =>
        new(new Status(StatusCode.NotFound, $"no such instance exists: {instanceId}"));
}
