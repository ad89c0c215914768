using System.Runtime.ExceptionServices;
using Dapr.DurableTask.Protobuf;

namespace DaprLlm.Sidecar.Workflows;

public sealed partial class WorkflowEngine
{
    /// <summary>
    /// Does an instance's outbox right after the change that filled it was committed. A failure is not the caller's:
    /// the change is stored, so the rest is retried in the background (and by recovery after a restart).
    /// </summary>
    private async Task DrainAfterCommitAsync(string instanceId)
    {
        try
        {
            await DrainOutboxAsync(instanceId, _stopping);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping: recovery at the next start does the rest.
        }
        catch (Exception e)
        {
            LogBackgroundFailure(logger, e, instanceId);
            DrainInBackground(instanceId, firstAttempt: 1);
        }
    }

    /// <summary>Drains an instance's outbox until it is empty, with backoff between failed tries.</summary>
    private void DrainInBackground(string instanceId, int firstAttempt = 0) => _ = Task.Run(async () =>
    {
        for (var attempt = firstAttempt; ; attempt++)
        {
            try
            {
                if (attempt > 0)
                {
                    await Task.Delay(Backoff(attempt - 1), time, _stopping);
                }

                await DrainOutboxAsync(instanceId, _stopping);
                return;
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogBackgroundFailure(logger, e, instanceId);
            }
        }
    });

    /// <summary>
    /// Does the stored outbox entries in order and removes the ones done. Stops at the first failure (a later entry
    /// may need an earlier one, as a child's start before an event sent to it) and throws it after removing the rest.
    /// </summary>
    private async Task DrainOutboxAsync(string instanceId, CancellationToken cancellationToken)
    {
        var loaded = await Store.LoadAsync(instanceId, cancellationToken);
        if (loaded is null || loaded.Record.Outbox.Count == 0)
        {
            return;
        }

        var done = new HashSet<string>(StringComparer.Ordinal);
        ExceptionDispatchInfo? failure = null;
        foreach (var entry in loaded.Record.Outbox)
        {
            try
            {
                await SendAsync(entry, cancellationToken);
                done.Add(entry.Id);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failure = ExceptionDispatchInfo.Capture(e);
                break;
            }
        }

        if (done.Count > 0)
        {
            // Not a change of the instance itself: its LastUpdatedAt stays as the turn left it.
            await MutateAsync(Store, instanceId, r => r is not null && r.Outbox.RemoveAll(e => done.Contains(e.Id)) > 0 ? [] : null,
                cancellationToken, touch: false);
        }

        failure?.Throw();
    }

    private async Task SendAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        switch (entry.Kind)
        {
            case OutboxKind.StartChild:
                // The child's record was written with the turn; indexed first, so that once it runs recovery sees it.
                await AddToIndexAsync(Store.For(entry.AppId), [entry.InstanceId], cancellationToken);
                await WakeAsync(entry.AppId, entry.InstanceId, cancellationToken);
                break;
            case OutboxKind.Deliver when entry.Event is not null:
                await DeliverAsync(entry.AppId, entry.InstanceId, entry.Id, HistoryEvent.Parser.ParseFrom(entry.Event), cancellationToken);
                break;
            case OutboxKind.Terminate:
                await TerminateCoreAsync(entry.InstanceId, entry.Reason, entry.Recurse, cancellationToken);
                break;
        }
    }

    /// <summary>
    /// Appends an event to an instance's inbox once: a delivery made again (its sender's outbox entry outlived the
    /// first try) is dropped by its id. Dropped too when the instance is gone or finished, as daprd does.
    /// </summary>
    private async Task DeliverAsync(string appId, string instanceId, string messageId, HistoryEvent message, CancellationToken cancellationToken)
    {
        var record = await MutateAsync(Store.For(appId), instanceId, r =>
        {
            if (r is null || r.IsTerminal || !r.TryReceive(messageId))
            {
                return null;
            }

            r.AddInbox(message);
            return [];
        }, cancellationToken);
        if (record is { IsTerminal: false })
        {
            // Also after a duplicate: the first try may have stored the event and failed to wake the instance.
            await WakeAsync(appId, instanceId, cancellationToken);
        }
    }
}
