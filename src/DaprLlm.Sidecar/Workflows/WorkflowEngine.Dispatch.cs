using System.Diagnostics;
using Dapr.DurableTask.Protobuf;
using Google.Protobuf;

namespace DaprLlm.Sidecar.Workflows;

public sealed partial class WorkflowEngine
{
    private void EnqueueOrchestration(string instanceId)
    {
        if (_queuedOrchestrations.TryAdd(instanceId, 0))
        {
            _orchestrations.Writer.TryWrite(instanceId);
        }
    }

    private void EnqueueActivity(InstanceRecord record, int taskId, TaskScheduledEvent scheduled, TaskRouter? router)
    {
        var token = ActivityToken(options.AppId, record.InstanceId, record.ExecutionId, taskId);
        var request = new ActivityRequest
        {
            Name = scheduled.Name,
            Version = scheduled.Version,
            Input = scheduled.Input,
            WorkflowInstance = new WorkflowInstance { InstanceId = record.InstanceId, ExecutionId = record.ExecutionId },
            TaskId = taskId,
            TaskExecutionId = scheduled.TaskExecutionId,
            ParentTraceContext = scheduled.ParentTraceContext,
        };
        if (router?.TargetAppID is { Length: > 0 } target && target != options.AppId)
        {
            // Like daprd, an activity routed to another app runs on that app's worker: hand it over through the shared store.
            _ = HandOverAsync(target, new RemoteActivity(token, options.AppId, request.ToByteArray()));
            return;
        }

        EnqueueLocal(token, request);
    }

    private void EnqueueLocal(string token, ActivityRequest request)
    {
        var item = new ActivityItem { Token = token, Request = request };
        if (_pendingActivities.TryAdd(token, item))
        {
            _activities.Writer.TryWrite(item);
        }
    }

    private async Task HandOverAsync(string targetAppId, RemoteActivity activity)
    {
        var target = Store.For(targetAppId);
        for (var attempt = 1; !_stopping.IsCancellationRequested; attempt++)
        {
            try
            {
                await target.UpdateListAsync<RemoteActivity>(target.RemoteActivitiesKey, list =>
                {
                    if (list.Exists(a => a.Token == activity.Token))
                    {
                        return false;
                    }

                    list.Add(activity);
                    return true;
                }, _stopping);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogBackgroundFailure(logger, e, activity.Token);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 5)), time, _stopping);
            }
        }
    }

    /// <summary>
    /// Polls the two keys other apps' sidecars write for us: activities routed to this app, and instances whose
    /// inbox they changed. Polling the shared store keeps this working across restarts without any direct channel.
    /// </summary>
    private async Task PollSharedQueuesAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250), time);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                var (remote, _) = await Store.LoadListAsync<RemoteActivity>(Store.RemoteActivitiesKey, cancellationToken);
                foreach (var activity in remote)
                {
                    if (!_pendingActivities.ContainsKey(activity.Token) && !_finishedRemoteActivities.ContainsKey(activity.Token))
                    {
                        EnqueueLocal(activity.Token, ActivityRequest.Parser.ParseFrom(activity.Request));
                    }
                }

                // A finished item absent from this read is off the queue for good: later reads cannot bring it back.
                // Both sets are small (items in flight), and enumerating the dictionary allocates no snapshot.
                foreach (var (token, _) in _finishedRemoteActivities)
                {
                    if (!remote.Exists(a => a.Token == token))
                    {
                        _finishedRemoteActivities.TryRemove(token, out _);
                    }
                }

                var woken = new List<string>();
                await Store.UpdateListAsync<string>(Store.WakeKey, list =>
                {
                    woken = [.. list];
                    list.Clear();
                    return woken.Count > 0;
                }, cancellationToken);
                foreach (var instanceId in woken)
                {
                    NotifyChanged();
                    EnqueueOrchestration(instanceId);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogBackgroundFailure(logger, e, "(shared queues)");
            }
        }
    }

    /// <summary>Completion tokens are self-describing so a completion can be applied after a sidecar restart.</summary>
    private static string ActivityToken(string ownerAppId, string instanceId, string executionId, int taskId) =>
        $"a\u001f{ownerAppId}\u001f{instanceId}\u001f{executionId}\u001f{Invariant(taskId)}";

    private static (string OwnerAppId, string InstanceId, string ExecutionId, int TaskId)? ParseActivityToken(string token)
    {
        var parts = token.Split('\u001f');
        return parts.Length == 5 && parts[0] == "a" && int.TryParse(parts[4], System.Globalization.CultureInfo.InvariantCulture, out var taskId)
            ? (parts[1], parts[2], parts[3], taskId)
            : null;
    }

    private async Task DispatchOrchestrationsAsync(CancellationToken cancellationToken)
    {
        await foreach (var instanceId in _orchestrations.Reader.ReadAllAsync(cancellationToken))
        {
            _queuedOrchestrations.TryRemove(instanceId, out _);
            try
            {
                await DispatchTurnAsync(instanceId, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogBackgroundFailure(logger, e, instanceId);
                RetryLater(instanceId);
            }
        }
    }

    private void RetryLater(string instanceId) => _ = Task.Delay(TimeSpan.FromSeconds(1), time, _stopping)
        .ContinueWith(_ => EnqueueOrchestration(instanceId), TaskScheduler.Default);

    /// <summary>Hands a local activity out again after a pause, unless it was completed or dropped meanwhile.</summary>
    private void RetryActivityLater(ActivityItem item)
    {
        item.Release(); // re-queued here, not again by the worker's disconnect
        _ = Task.Delay(TimeSpan.FromSeconds(1), time, _stopping).ContinueWith(_ =>
        {
            if (_pendingActivities.ContainsKey(item.Token))
            {
                _activities.Writer.TryWrite(item);
            }
        }, TaskScheduler.Default);
    }

    private async Task DispatchTurnAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (_turns.ContainsKey(instanceId))
        {
            return; // one turn at a time; the completion re-queues the instance when its inbox is not empty
        }

        // Wait for a worker before reading the instance, so the turn carries its latest inbox.
        var connection = await hub.PickAsync(cancellationToken);
        var loaded = await Store.LoadAsync(instanceId, cancellationToken);
        if (loaded is not { Record: var record } || record.IsTerminal || record.Inbox.Count == 0 ||
            record.Status == OrchestrationStatus.Suspended)
        {
            return;
        }

        if (record.StartAt is { } startAt && startAt > Now)
        {
            ArmWake(instanceId, startAt);
            return;
        }

        var started = new HistoryEvent { EventId = -1, Timestamp = NowTimestamp, WorkflowStarted = new WorkflowStartedEvent() };
        var request = new WorkflowRequest
        {
            InstanceId = instanceId,
            ExecutionId = record.ExecutionId,
        };
        request.PastEvents.AddRange(record.HistoryEvents());
        request.NewEvents.Add(started);
        request.NewEvents.AddRange(record.InboxEvents());
        var turn = new Turn($"o\u001f{instanceId}\u001f{Guid.NewGuid():N}", record.Inbox.Count, started, connection);
        if (!_turns.TryAdd(instanceId, turn))
        {
            return;
        }

        if (!connection.Items.Writer.TryWrite(new WorkItem { WorkflowRequest = request, CompletionToken = turn.Token }))
        {
            // The stream closed between picking and writing: put the work back.
            _turns.TryRemove(KeyValuePair.Create(instanceId, turn));
            EnqueueOrchestration(instanceId);
        }
    }

    private async Task DispatchActivitiesAsync(CancellationToken cancellationToken)
    {
        await foreach (var item in _activities.Reader.ReadAllAsync(cancellationToken))
        {
            if (!_pendingActivities.ContainsKey(item.Token))
            {
                continue; // completed while queued
            }

            WorkerConnection connection;
            try
            {
                connection = await hub.PickAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            item.HandTo(connection);
            item.DispatchedAt = Stopwatch.GetTimestamp();
            // The stream closed between picking and writing: put the item back, unless its disconnect already did.
            if (!connection.Items.Writer.TryWrite(item.ToWorkItem()) && item.TakeBack(connection))
            {
                _activities.Writer.TryWrite(item);
            }
        }
    }

    /// <summary>A worker stream closed: whatever it was running goes back to the queues (at-least-once).</summary>
    private void OnDisconnected(WorkerConnection connection)
    {
        foreach (var (instanceId, turn) in _turns)
        {
            if (turn.Connection == connection && _turns.TryRemove(KeyValuePair.Create(instanceId, turn)))
            {
                EnqueueOrchestration(instanceId);
            }
        }

        foreach (var item in _pendingActivities.Values)
        {
            if (item.TakeBack(connection))
            {
                _activities.Writer.TryWrite(item);
            }
        }
    }

    private static string TimerKey(string instanceId, string executionId, int timerId) =>
        $"{instanceId}\u001f{executionId}\u001f{Invariant(timerId)}";

    private void ArmTimer(string instanceId, string executionId, int timerId, DateTimeOffset fireAt)
    {
        var delay = fireAt - Now;
        var key = TimerKey(instanceId, executionId, timerId);
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        if (!_timers.TryAdd(key, cts))
        {
            cts.Dispose();
            return;
        }

        _ = RunTimerAsync(key, cts, instanceId, executionId, timerId, fireAt, delay);
    }

    private async Task RunTimerAsync(string key, CancellationTokenSource cts, string instanceId, string executionId, int timerId,
        DateTimeOffset fireAt, TimeSpan delay)
    {
        try
        {
            // Timers run on a coarse monotonic clock that can wake a millisecond before the wall clock reaches
            // fireAt; the workflow must never observe a timer firing early, so wait out any remainder.
            // Waited in steps of at most MaxArmedDelay (one Task.Delay holds ~49 days): a 45-day timer fires on time while
            // the sidecar stays up, and the "never" timer of WaitForExternalEvent without timeout just keeps waiting.
            while (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay > MaxArmedDelay ? MaxArmedDelay : delay, time, cts.Token);
                delay = fireAt - Now;
            }

            await FireTimerAsync(instanceId, executionId, timerId, fireAt, cts.Token);
            _timers.TryRemove(key, out _);
            cts.Dispose();
        }
        catch (OperationCanceledException)
        {
            _timers.TryRemove(key, out _);
            cts.Dispose();
        }
        catch (Exception e)
        {
            LogBackgroundFailure(logger, e, instanceId);
            _timers.TryRemove(key, out _);
            cts.Dispose();
            _ = Task.Delay(TimeSpan.FromSeconds(1), time, _stopping)
                .ContinueWith(_ => ArmTimer(instanceId, executionId, timerId, fireAt), TaskScheduler.Default);
        }
    }

    private async Task FireTimerAsync(string instanceId, string executionId, int timerId, DateTimeOffset fireAt, CancellationToken cancellationToken)
    {
        var record = await MutateAsync(instanceId, r =>
        {
            if (r is null || r.IsTerminal || r.ExecutionId != executionId ||
                r.HistoryEvents().Concat(r.InboxEvents()).Any(e => e.TimerFired?.TimerId == timerId))
            {
                return null;
            }

            r.AddInbox(new HistoryEvent
            {
                EventId = -1,
                Timestamp = NowTimestamp,
                TimerFired = new TimerFiredEvent { FireAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(fireAt), TimerId = timerId },
            });
            return [];
        }, cancellationToken);
        if (record is { IsTerminal: false })
        {
            EnqueueOrchestration(instanceId);
        }
    }

    /// <summary>Re-queues an instance at a scheduled start time.</summary>
    private void ArmWake(string instanceId, DateTimeOffset at)
    {
        _ = WakeAsync();

        async Task WakeAsync()
        {
            try
            {
                // In steps, as timers: a start scheduled months ahead happens on time while the sidecar stays up.
                for (var delay = at - Now; delay > TimeSpan.Zero; delay = at - Now)
                {
                    await Task.Delay(delay > MaxArmedDelay ? MaxArmedDelay : delay, time, _stopping);
                }

                EnqueueOrchestration(instanceId);
            }
            catch (OperationCanceledException)
            {
                // The sidecar is stopping; recovery at the next start arms it again.
            }
        }
    }

    private void CancelTimers(string instanceId)
    {
        var prefix = instanceId + "\u001f";
        foreach (var (key, cts) in _timers)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && _timers.TryRemove(key, out _))
            {
                try
                {
                    cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The timer finished in the meantime.
                }
            }
        }
    }

    private void DropActivities(string instanceId)
    {
        var prefix = $"a\u001f{options.AppId}\u001f{instanceId}\u001f";
        foreach (var key in _pendingActivities.Keys)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                _pendingActivities.TryRemove(key, out _);
            }
        }
    }
}
