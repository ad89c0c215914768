using System.Globalization;
using Dapr.DurableTask.Protobuf;
using DaprLlm.Sidecar.State;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DaprLlm.Sidecar.Workflows;

public sealed partial class WorkflowEngine
{
    private InstanceRecord NewInstance(string instanceId, string name, string? version, string? input, string? executionId,
        DateTimeOffset? startAt, IDictionary<string, string>? tags, ParentInstanceInfo? parent, string? hostAppId = null)
    {
        var now = Now;
        var record = new InstanceRecord
        {
            InstanceId = instanceId,
            Name = name,
            Version = version,
            ExecutionId = string.IsNullOrEmpty(executionId) ? Guid.NewGuid().ToString("N") : executionId,
            Status = OrchestrationStatus.Pending,
            CreatedAt = now,
            LastUpdatedAt = now,
            StartAt = startAt,
            Input = input,
            ParentInstanceId = parent?.WorkflowInstance?.InstanceId,
            ParentAppId = parent?.AppID,
            ParentTaskId = parent?.TaskScheduledId ?? 0,
            Tags = tags is null ? [] : new Dictionary<string, string>(tags, StringComparer.Ordinal),
        };
        record.AddInbox(StartedEvent(record, input, parent, hostAppId));
        return record;
    }

    private HistoryEvent StartedEvent(InstanceRecord record, string? input, ParentInstanceInfo? parent, string? hostAppId = null)
    {
        var started = new ExecutionStartedEvent
        {
            Name = record.Name,
            Version = record.Version,
            Input = input,
            WorkflowInstance = new WorkflowInstance { InstanceId = record.InstanceId, ExecutionId = record.ExecutionId },
            ParentInstance = parent,
        };
        if (record.StartAt is { } startAt)
        {
            started.ScheduledStartTimestamp = Timestamp.FromDateTimeOffset(startAt);
        }

        started.Tags.Add(record.Tags);
        // The SDK reads its own app id from the router of ExecutionStarted (needed for cross-app calls).
        return new HistoryEvent { EventId = -1, Timestamp = NowTimestamp, ExecutionStarted = started, Router = new TaskRouter { SourceAppID = hostAppId ?? options.AppId } };
    }

    public async Task<string> StartAsync(CreateInstanceRequest request, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        if (string.IsNullOrEmpty(request.Name))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "workflow name is required"));
        }

        var instanceId = string.IsNullOrEmpty(request.InstanceId) ? Guid.NewGuid().ToString("N") : request.InstanceId;
        var startAt = request.ScheduledStartTimestamp?.ToDateTimeOffset();
        using (await LockAsync(instanceId, cancellationToken))
        {
            var existing = await Store.LoadAsync(instanceId, cancellationToken);
            if (existing is { Record.IsTerminal: false })
            {
                throw new RpcException(new Status(StatusCode.AlreadyExists,
                    $"an active workflow with ID '{instanceId}' already exists"));
            }

            var record = NewInstance(instanceId, request.Name, request.Version, request.Input, request.ExecutionId, startAt, request.Tags, null);
            // Indexed before it is stored: recovery and listing only see indexed ids, so a record stored without its
            // index entry would never run, and a retried start would find it "active". An id indexed without a record
            // is skipped by recovery and taken by the retry.
            await AddToIndexAsync([instanceId], cancellationToken);
            try
            {
                await Store.Store.TransactAsync([Store.Save(record, existing?.ETag)], cancellationToken);
            }
            catch (StateETagException)
            {
                throw new RpcException(new Status(StatusCode.AlreadyExists, $"an active workflow with ID '{instanceId}' already exists"));
            }
        }

        metrics.Started();
        NotifyChanged();
        EnqueueOrchestration(instanceId);
        return instanceId;
    }

    public async Task<GetInstanceResponse> GetAsync(string instanceId, bool withPayloads, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        var loaded = await Store.LoadAsync(instanceId, cancellationToken);
        return loaded is null ? new GetInstanceResponse { Exists = false } : new GetInstanceResponse { Exists = true, WorkflowState = ToState(loaded.Record, withPayloads) };
    }

    private static WorkflowState ToState(InstanceRecord r, bool withPayloads)
    {
        var state = new WorkflowState
        {
            InstanceId = r.InstanceId,
            Name = r.Name,
            Version = r.Version,
            WorkflowStatus = r.Status,
            CreatedTimestamp = Timestamp.FromDateTimeOffset(r.CreatedAt),
            LastUpdatedTimestamp = Timestamp.FromDateTimeOffset(r.LastUpdatedAt),
            ExecutionId = r.ExecutionId,
            FailureDetails = r.FailureDetails,
            ParentInstanceId = r.ParentInstanceId,
            ParentAppId = r.ParentInstanceId is null ? null : r.ParentAppId,
            CustomStatus = r.CustomStatus,
        };
        if (r.CompletedAt is { } completed)
        {
            state.CompletedTimestamp = Timestamp.FromDateTimeOffset(completed);
        }

        if (r.StartAt is { } startAt)
        {
            state.ScheduledStartTimestamp = Timestamp.FromDateTimeOffset(startAt);
        }

        if (withPayloads)
        {
            state.Input = r.Input;
            state.Output = r.Output;
        }

        state.Tags.Add(r.Tags);
        return state;
    }

    /// <summary>Long-polls until <paramref name="done"/> holds for the instance (or it does not exist).</summary>
    public async Task<GetInstanceResponse> WaitAsync(string instanceId, bool withPayloads, Func<OrchestrationStatus, bool> done,
        CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        while (true)
        {
            var changed = ChangedAsync;
            var response = await GetAsync(instanceId, withPayloads, cancellationToken);
            if (!response.Exists || done(response.WorkflowState.WorkflowStatus))
            {
                return response;
            }

            // The pulse covers changes made here; the periodic re-read covers other processes sharing the store.
            await Task.WhenAny(changed, Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken)).WaitAsync(cancellationToken);
        }
    }

    public async Task RaiseEventAsync(RaiseEventRequest request, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        var found = false;
        var record = await MutateAsync(request.InstanceId, r =>
        {
            found = r is not null;
            if (r is null || r.IsTerminal)
            {
                return null;
            }

            r.AddInbox(new HistoryEvent { EventId = -1, Timestamp = NowTimestamp, EventRaised = new EventRaisedEvent { Name = request.Name, Input = request.Input } });
            return [];
        }, cancellationToken);
        if (!found)
        {
            throw NotFound(request.InstanceId);
        }

        if (record is { IsTerminal: false })
        {
            EnqueueOrchestration(request.InstanceId);
        }
    }

    public async Task TerminateAsync(TerminateRequest request, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        if (!await TerminateCoreAsync(request.InstanceId, request.Output, request.Recursive, cancellationToken))
        {
            throw NotFound(request.InstanceId);
        }
    }

    /// <summary>
    /// Ends an instance at once as Terminated, without waiting for the app's worker (so it works while the app is
    /// down), optionally with its running children. Returns false when the instance does not exist.
    /// </summary>
    private async Task<bool> TerminateCoreAsync(string instanceId, string? output, bool recursive, CancellationToken cancellationToken)
    {
        var found = false;
        var terminated = false;
        var record = await MutateAsync(instanceId, r =>
        {
            found = r is not null;
            if (r is null || r.IsTerminal)
            {
                return null;
            }

            var now = NowTimestamp;
            r.AddHistory(new HistoryEvent { EventId = -1, Timestamp = now, ExecutionTerminated = new ExecutionTerminatedEvent { Input = output, Recurse = recursive } });
            r.AddHistory(new HistoryEvent
            {
                EventId = -1, Timestamp = now,
                ExecutionCompleted = new ExecutionCompletedEvent { WorkflowStatus = OrchestrationStatus.Terminated, Result = output },
            });
            r.Status = OrchestrationStatus.Terminated;
            r.Output = output;
            r.CompletedAt = Now;
            r.Inbox.Clear();
            // Done through the outbox (at-least-once): the parent's notice, then the children's terminations.
            AddParentNotice(r, OrchestrationStatus.Terminated);
            if (recursive)
            {
                r.Outbox.AddRange(LocalChildren(r).Select(child => OutboxEntry.Terminate(options.AppId, child, output, recurse: true)));
            }

            terminated = true;
            return [];
        }, cancellationToken);
        if (terminated && record is not null)
        {
            _turns.TryRemove(instanceId, out _);
            OnFinished(record, OrchestrationStatus.Terminated);
            await DrainAfterCommitAsync(instanceId);
        }

        return found;
    }

    public async Task SuspendAsync(string instanceId, string? reason, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        var found = false;
        await MutateAsync(instanceId, r =>
        {
            found = r is not null;
            if (r is null || r.IsTerminal || r.Status == OrchestrationStatus.Suspended)
            {
                return null;
            }

            // Held events stay in the inbox: no turn runs until the instance is resumed.
            r.Status = OrchestrationStatus.Suspended;
            r.AddInbox(new HistoryEvent { EventId = -1, Timestamp = NowTimestamp, ExecutionSuspended = new ExecutionSuspendedEvent { Input = reason } });
            return [];
        }, cancellationToken);
        if (!found)
        {
            throw NotFound(instanceId);
        }
    }

    public async Task ResumeAsync(string instanceId, string? reason, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        var found = false;
        var resumed = false;
        await MutateAsync(instanceId, r =>
        {
            found = r is not null;
            if (r is null || r.Status != OrchestrationStatus.Suspended)
            {
                return null;
            }

            r.Status = r.History.Count == 0 ? OrchestrationStatus.Pending : OrchestrationStatus.Running;
            r.AddInbox(new HistoryEvent { EventId = -1, Timestamp = NowTimestamp, ExecutionResumed = new ExecutionResumedEvent { Input = reason } });
            resumed = true;
            return [];
        }, cancellationToken);
        if (!found)
        {
            throw NotFound(instanceId);
        }

        if (resumed)
        {
            EnqueueOrchestration(instanceId);
        }
    }

    public async Task<int> PurgeAsync(PurgeInstancesRequest request, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        if (request.RequestCase == PurgeInstancesRequest.RequestOneofCase.InstanceId)
        {
            var loaded = await Store.LoadAsync(request.InstanceId, cancellationToken);
            if (loaded is null)
            {
                return 0;
            }

            if (!loaded.Record.IsTerminal && !request.Force)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"cannot purge workflow '{request.InstanceId}': it is {loaded.Record.Status}, only finished workflows can be purged"));
            }

            return await PurgeCoreAsync(request.InstanceId, request.Recursive, request.Force, cancellationToken);
        }

        var filter = request.PurgeInstanceFilter ?? new PurgeInstanceFilter();
        var from = filter.CreatedTimeFrom?.ToDateTimeOffset();
        var to = filter.CreatedTimeTo?.ToDateTimeOffset();
        var statuses = filter.RuntimeStatus.ToHashSet();
        var (ids, _) = await Store.LoadIndexAsync(cancellationToken);
        var count = 0;
        foreach (var id in ids)
        {
            var loaded = await Store.LoadAsync(id, cancellationToken);
            if (loaded is not { Record: var r } || !r.IsTerminal || (from is not null && r.CreatedAt < from) ||
                (to is not null && r.CreatedAt > to) || (statuses.Count > 0 && !statuses.Contains(r.Status)))
            {
                continue;
            }

            count += await PurgeCoreAsync(id, request.Recursive, force: false, cancellationToken);
        }

        return count;
    }

    private async Task<int> PurgeCoreAsync(string instanceId, bool recursive, bool force, CancellationToken cancellationToken)
    {
        List<string> children;
        using (await LockAsync(instanceId, cancellationToken))
        {
            var loaded = await Store.LoadAsync(instanceId, cancellationToken);
            if (loaded is null || (!loaded.Record.IsTerminal && !force))
            {
                return 0;
            }

            children = LocalChildren(loaded.Record);
            await Store.Store.TransactAsync([Store.Delete(instanceId, null)], cancellationToken);
        }

        CancelTimers(instanceId);
        DropActivities(instanceId);
        _turns.TryRemove(instanceId, out _);
        await RemoveFromIndexAsync([instanceId], cancellationToken);
        NotifyChanged();
        var count = 1;
        if (recursive)
        {
            foreach (var child in children)
            {
                count += await PurgeCoreAsync(child, recursive: true, force, cancellationToken);
            }
        }

        return count;
    }

    /// <summary>Child instances hosted by this app (cross-app children live in their app's scope and are left alone).</summary>
    private List<string> LocalChildren(InstanceRecord record) => record.HistoryEvents()
        .Where(e => e.ChildWorkflowInstanceCreated is not null && (e.Router?.TargetAppID is not { Length: > 0 } target || target == options.AppId))
        .Select(e => e.ChildWorkflowInstanceCreated.InstanceId).ToList();

    public async Task<ListInstanceIDsResponse> ListAsync(ListInstanceIDsRequest request, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        var (ids, _) = await Store.LoadIndexAsync(cancellationToken);
        var start = request.HasContinuationToken && int.TryParse(request.ContinuationToken, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 0;
        var size = request.HasPageSize && request.PageSize > 0 ? (int)Math.Min(request.PageSize, int.MaxValue) : int.MaxValue;
        var page = ids.Skip(start).Take(size).ToList();
        var response = new ListInstanceIDsResponse();
        response.InstanceIds.AddRange(page);
        if (start + page.Count < ids.Count)
        {
            response.ContinuationToken = (start + page.Count).ToString(CultureInfo.InvariantCulture);
        }

        return response;
    }

    public async Task<GetInstanceHistoryResponse> HistoryAsync(string instanceId, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        var loaded = await Store.LoadAsync(instanceId, cancellationToken) ?? throw NotFound(instanceId);
        var response = new GetInstanceHistoryResponse();
        response.Events.AddRange(loaded.Record.HistoryEvents());
        return response;
    }

    /// <summary>
    /// A new instance whose history is the source's up to the given TaskScheduled event; that activity (and any other
    /// activity of the prefix without a result) runs again, optionally with a new input.
    /// </summary>
    public async Task<string> RerunAsync(RerunWorkflowFromEventRequest request, CancellationToken cancellationToken)
    {
        await WhenReadyAsync(cancellationToken);
        var source = await Store.LoadAsync(request.SourceInstanceID, cancellationToken) ?? throw NotFound(request.SourceInstanceID);
        if (!source.Record.IsTerminal)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"workflow '{request.SourceInstanceID}' must be in a terminal state to be rerun"));
        }

        var history = source.Record.HistoryEvents().ToList();
        var index = history.FindIndex(e => e.EventId == (int)request.EventID && e.TaskScheduled is not null);
        if (index < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"event id {request.EventID} is not an activity (TaskScheduled) event of workflow '{request.SourceInstanceID}'"));
        }

        var newId = request.HasNewInstanceID && request.NewInstanceID.Length > 0 ? request.NewInstanceID : Guid.NewGuid().ToString("N");
        var record = new InstanceRecord
        {
            InstanceId = newId,
            Name = source.Record.Name,
            Version = source.Record.Version,
            ExecutionId = Guid.NewGuid().ToString("N"),
            Status = OrchestrationStatus.Running,
            CreatedAt = Now,
            LastUpdatedAt = Now,
            Input = source.Record.Input,
            Tags = source.Record.Tags,
        };
        foreach (var e in history.Take(index + 1))
        {
            var copy = e.Clone();
            if (copy.ExecutionStarted is { } started)
            {
                started.WorkflowInstance = new WorkflowInstance { InstanceId = newId, ExecutionId = record.ExecutionId };
                started.ParentInstance = null;
            }

            if (copy.TaskScheduled is { } scheduled && copy.EventId == (int)request.EventID)
            {
                scheduled.RerunParentInstanceInfo = new RerunParentInstanceInfo { InstanceID = request.SourceInstanceID };
                if (request.OverwriteInput)
                {
                    scheduled.Input = request.Input;
                }
            }

            record.AddHistory(copy);
        }

        using (await LockAsync(newId, cancellationToken))
        {
            var existing = await Store.LoadAsync(newId, cancellationToken);
            if (existing is not null)
            {
                throw new RpcException(new Status(StatusCode.AlreadyExists, $"a workflow with ID '{newId}' already exists"));
            }

            await AddToIndexAsync([newId], cancellationToken); // before the record, as in StartAsync
            await Store.Store.TransactAsync([Store.Save(record, null)], cancellationToken);
        }

        metrics.Started();
        NotifyChanged();
        Arm(record);
        return newId;
    }
}
