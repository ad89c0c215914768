using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Dapr.DurableTask.Protobuf;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Hosting;
using DaprLlm.Sidecar.State;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DaprLlm.Sidecar.Workflows;

/// <summary>
/// The durable, event-sourced workflow engine behind TaskHubSidecarService. The store is the only source of
/// truth: every change is a read-modify-write of the instance document (guarded by its ETag) and the
/// in-memory queues, timers and in-flight maps are rebuilt from the store at start.
/// </summary>
public sealed partial class WorkflowEngine(
    SidecarOptions options,
    ComponentRegistry registry,
    WorkItemHub hub,
    WorkflowMetrics metrics,
    TimeProvider time,
    ILogger<WorkflowEngine> logger) : BackgroundService
{
    // The longest single wait of a timer or scheduled start (Task.Delay's limit is ~49 days); longer ones wait in steps.
    private static readonly TimeSpan MaxArmedDelay = TimeSpan.FromDays(30);

    private readonly KeyedLocks _locks = new();
    private readonly SemaphoreSlim _indexLock = new(1, 1);
    private readonly Channel<string> _orchestrations = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, byte> _queuedOrchestrations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Turn> _turns = new(StringComparer.Ordinal);
    private readonly Channel<ActivityItem> _activities = Channel.CreateUnbounded<ActivityItem>();
    private readonly ConcurrentDictionary<string, ActivityItem> _pendingActivities = new(StringComparer.Ordinal);
    // Cross-app activities this app finished whose removal from the shared queue a poll may not have seen yet.
    private readonly ConcurrentDictionary<string, byte> _finishedRemoteActivities = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _timers = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WorkflowStore? _store;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationToken _stopping;

    public string AppId => options.AppId;

    /// <summary>An orchestrator turn handed to the worker and not yet completed.</summary>
    private sealed record Turn(string Token, int InboxCount, HistoryEvent Started, WorkerConnection Connection);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        var stores = registry.All<IStateStore>().Where(s => s.Instance.IsActorStateStore).ToList();
        if (stores.Count == 0)
        {
            LogNoActorStore(logger);
            _ready.TrySetResult();
            return;
        }

        _store = new WorkflowStore(stores[0].Instance, options.AppId);
        metrics.Observe(() => _timers.Count, () => _queuedOrchestrations.Count + _turns.Count, () => _pendingActivities.Count);
        hub.Disconnected += OnDisconnected;
        try
        {
            await RecoverAsync(stoppingToken);
        }
        finally
        {
            _ready.TrySetResult();
        }

        await Task.WhenAll(DispatchOrchestrationsAsync(stoppingToken), DispatchActivitiesAsync(stoppingToken), PollSharedQueuesAsync(stoppingToken));
    }

    /// <summary>
    /// Rebuilds queues and timers from the store: inboxes, activities without a result, unfired timers. One unreadable
    /// instance is logged and left alone: it must not stop the engine, nor the whole sidecar with it.
    /// </summary>
    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var ids = await LoadIndexForRecoveryAsync(cancellationToken);
        var recovered = 0;
        foreach (var id in ids)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    var loaded = await _store!.LoadAsync(id, cancellationToken);
                    if (loaded is { Record.Outbox.Count: > 0 })
                    {
                        // Effects a committed change did not finish before the restart (finished instances too).
                        DrainInBackground(id);
                    }

                    if (loaded is not null && !loaded.Record.IsTerminal)
                    {
                        Arm(loaded.Record);
                        recovered++;
                    }

                    break;
                }
                catch (Exception e) when (IsCorrupt(e) || (attempt >= 4 && e is not OperationCanceledException))
                {
                    LogRecoveryFailure(logger, e, id);
                    break;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogBackgroundFailure(logger, e, id);
                    await Task.Delay(Backoff(attempt), time, cancellationToken);
                }
            }
        }

        LogRecovered(logger, recovered, ids.Count);
    }

    /// <summary>The instance index, read again with backoff while the store fails (an unreadable index counts as empty).</summary>
    private async Task<List<string>> LoadIndexForRecoveryAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return (await _store!.LoadIndexAsync(cancellationToken)).Ids;
            }
            catch (Exception e) when (IsCorrupt(e))
            {
                LogRecoveryFailure(logger, e, "(instance index)");
                return [];
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogBackgroundFailure(logger, e, "(instance index)");
                await Task.Delay(Backoff(attempt), time, cancellationToken);
            }
        }
    }

    private static bool IsCorrupt(Exception e) => e is System.Text.Json.JsonException or InvalidDataException or Google.Protobuf.InvalidProtocolBufferException;

    /// <summary>1 s, 2 s, 4 s ... up to 30 s between tries of a background step.</summary>
    private static TimeSpan Backoff(int attempt) => TimeSpan.FromSeconds(Math.Min(Math.Pow(2, Math.Min(attempt, 5)), 30));

    /// <summary>Queues everything an instance is waiting for: its inbox, pending activities, pending timers.</summary>
    private void Arm(InstanceRecord record)
    {
        if (record.Inbox.Count > 0)
        {
            EnqueueOrchestration(record.InstanceId);
        }

        var history = record.HistoryEvents().ToList();
        var answered = history.Concat(record.InboxEvents()).ToList();
        var completedTasks = answered.Select(e => e.TaskCompleted?.TaskScheduledId ?? e.TaskFailed?.TaskScheduledId)
            .Where(i => i is not null).ToHashSet();
        var firedTimers = answered.Where(e => e.TimerFired is not null).Select(e => e.TimerFired.TimerId).ToHashSet();
        foreach (var e in history)
        {
            if (e.TaskScheduled is { } scheduled && !completedTasks.Contains(e.EventId))
            {
                EnqueueActivity(record, e.EventId, scheduled, e.Router);
            }
            else if (e.TimerCreated is { } timer && !firedTimers.Contains(e.EventId))
            {
                ArmTimer(record.InstanceId, record.ExecutionId, e.EventId, timer.FireAt.ToDateTimeOffset());
            }
        }

        if (record.StartAt is { } startAt && record.Status == OrchestrationStatus.Pending)
        {
            ArmWake(record.InstanceId, startAt);
        }
    }

    private WorkflowStore Store => _store ?? throw new RpcException(new Status(StatusCode.FailedPrecondition,
        "the state store is not configured to use the actor runtime. Have you set the - name: actorStateStore value: \"true\" in your state store component file?"));

    /// <summary>Waits for recovery to finish, so that calls made right after start see a consistent engine.</summary>
    public Task WhenReadyAsync(CancellationToken cancellationToken) => _ready.Task.WaitAsync(cancellationToken);

    private async Task<IDisposable> LockAsync(string instanceId, CancellationToken cancellationToken, string? appId = null)
    {
        var key = appId is null || appId == options.AppId ? instanceId : $"{appId}\u001f{instanceId}";
        return await _locks.LockAsync(key, cancellationToken);
    }

    private DateTimeOffset Now => time.GetUtcNow();

    private Timestamp NowTimestamp => Timestamp.FromDateTimeOffset(Now);

    private void NotifyChanged()
    {
        var previous = Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }

    private Task ChangedAsync => Volatile.Read(ref _changed).Task;

    /// <summary>
    /// Read-modify-write of one instance under its in-process lock, retried when another writer (another
    /// process sharing the store) changed it in between. <paramref name="change"/> returns extra operations
    /// for the same transaction, or null to write nothing.
    /// </summary>
    private Task<InstanceRecord?> MutateAsync(string instanceId, Func<InstanceRecord?, List<StateOperation>?> change,
        CancellationToken cancellationToken) => MutateAsync(Store, instanceId, change, cancellationToken);

    private async Task<InstanceRecord?> MutateAsync(WorkflowStore store, string instanceId, Func<InstanceRecord?, List<StateOperation>?> change,
        CancellationToken cancellationToken, bool touch = true)
    {
        using var _ = await LockAsync(instanceId, cancellationToken, store.AppId);
        for (var attempt = 0; ; attempt++)
        {
            var loaded = await store.LoadAsync(instanceId, cancellationToken);
            var ops = change(loaded?.Record);
            if (ops is null)
            {
                return loaded?.Record;
            }

            if (loaded is not null)
            {
                if (touch)
                {
                    loaded.Record.LastUpdatedAt = Now;
                }

                ops.Insert(0, store.Save(loaded.Record, loaded.ETag));
            }

            try
            {
                await store.Store.TransactAsync(ops, cancellationToken);
                NotifyChanged();
                return loaded?.Record;
            }
            catch (StateETagException) when (attempt < 20)
            {
                // Someone else wrote the instance: read it again and redo the change.
            }
        }
    }

    private Task AddToIndexAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken) =>
        AddToIndexAsync(Store, instanceIds, cancellationToken);

    private async Task AddToIndexAsync(WorkflowStore store, IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        await _indexLock.WaitAsync(cancellationToken);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var (ids, etag) = await store.LoadIndexAsync(cancellationToken);
                var added = instanceIds.Where(i => !ids.Contains(i, StringComparer.Ordinal)).ToList();
                if (added.Count == 0)
                {
                    return;
                }

                ids.AddRange(added);
                try
                {
                    await store.Store.TransactAsync([store.SaveIndex(ids, etag)], cancellationToken);
                    return;
                }
                catch (StateETagException) when (attempt < 20)
                {
                }
            }
        }
        finally
        {
            _indexLock.Release();
        }
    }

    private async Task RemoveFromIndexAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        await _indexLock.WaitAsync(cancellationToken);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var (ids, etag) = await Store.LoadIndexAsync(cancellationToken);
                if (ids.RemoveAll(instanceIds.Contains) == 0)
                {
                    return;
                }

                try
                {
                    await Store.Store.TransactAsync([Store.SaveIndex(ids, etag)], cancellationToken);
                    return;
                }
                catch (StateETagException) when (attempt < 20)
                {
                }
            }
        }
        finally
        {
            _indexLock.Release();
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflows are disabled: no state store component sets actorStateStore: \"true\"")]
    private static partial void LogNoActorStore(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workflow engine recovered {Running} running of {Total} stored instances")]
    private static partial void LogRecovered(ILogger logger, int running, int total);

    [LoggerMessage(Level = LogLevel.Error, Message = "Workflow engine skipped unreadable workflow state {InstanceId} at recovery")]
    private static partial void LogRecoveryFailure(ILogger logger, Exception exception, string instanceId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored a stale or duplicate completion for workflow {InstanceId}")]
    private static partial void LogStaleCompletion(ILogger logger, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflow engine background step failed for {InstanceId}")]
    private static partial void LogBackgroundFailure(ILogger logger, Exception exception, string instanceId);
}
