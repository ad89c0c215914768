using System.Text.Json;
using DaprLlm.Sidecar.State;

namespace DaprLlm.Sidecar.Workflows;

/// <summary>A loaded instance and the ETag it was read with (null when new).</summary>
public sealed record LoadedInstance(InstanceRecord Record, string? ETag);

/// <summary>
/// Key layout of workflow state in the actor state store. Like daprd, state is scoped by app id
/// ("{appId}||dapr.internal.{ns}.{appId}.workflow||..."), so several apps can share one store and
/// each sidecar only ever sees its own app's instances.
/// </summary>
public sealed class WorkflowStore(IStateStore store, string appId)
{
    private readonly string _prefix = $"{appId}||dapr.internal.default.{appId}.workflow||";

    public IStateStore Store { get; } = store;

    public string AppId { get; } = appId;

    public string InstanceKey(string instanceId) => $"{_prefix}{instanceId}||state";

    public string IndexKey => $"{_prefix}index";

    /// <summary>Instance ids another app's sidecar changed (a cross-app activity result); this app's sidecar polls it.</summary>
    public string WakeKey => $"{_prefix}wake";

    /// <summary>Activities other apps' workflows scheduled on this app (TaskRouter.targetAppID).</summary>
    public string RemoteActivitiesKey => $"{_prefix}remote-activities";

    /// <summary>The same store seen with another app's prefix (for cross-app activities).</summary>
    public WorkflowStore For(string otherAppId) => otherAppId == AppId ? this : new WorkflowStore(Store, otherAppId);

    public async Task<(List<T> Items, string? ETag)> LoadListAsync<T>(string key, CancellationToken cancellationToken)
    {
        var entry = await Store.GetAsync(key, cancellationToken);
        return entry is null ? ([], null) : (JsonSerializer.Deserialize<List<T>>(entry.Value) ?? [], entry.ETag);
    }

    /// <summary>Read-modify-write of a small JSON list, retried on concurrent writers; <paramref name="change"/> returns false for no write.</summary>
    public async Task UpdateListAsync<T>(string key, Func<List<T>, bool> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (items, etag) = await LoadListAsync<T>(key, cancellationToken);
            if (!change(items))
            {
                return;
            }

            try
            {
                await Store.TransactAsync([StateOperation.Upsert(new StateSetRequest(key, JsonSerializer.SerializeToUtf8Bytes(items), etag, StateConcurrency.FirstWrite))],
                    cancellationToken);
                return;
            }
            catch (StateETagException) when (attempt < 50)
            {
            }
        }
    }

    public async Task<LoadedInstance?> LoadAsync(string instanceId, CancellationToken cancellationToken)
    {
        var entry = await Store.GetAsync(InstanceKey(instanceId), cancellationToken);
        return entry is null ? null : new LoadedInstance(InstanceRecord.Deserialize(entry.Value), entry.ETag);
    }

    /// <summary>An upsert of <paramref name="record"/> guarded by the ETag it was read with (or first-write when new).</summary>
    public StateOperation Save(InstanceRecord record, string? etag) =>
        StateOperation.Upsert(new StateSetRequest(InstanceKey(record.InstanceId), record.Serialize(), etag,
            StateConcurrency.FirstWrite));

    public StateOperation Delete(string instanceId, string? etag) =>
        StateOperation.Remove(new StateDeleteRequest(InstanceKey(instanceId), etag, StateConcurrency.FirstWrite));

    public async Task<(List<string> Ids, string? ETag)> LoadIndexAsync(CancellationToken cancellationToken)
    {
        var entry = await Store.GetAsync(IndexKey, cancellationToken);
        return entry is null ? ([], null) : (JsonSerializer.Deserialize<List<string>>(entry.Value) ?? [], entry.ETag);
    }

    public StateOperation SaveIndex(List<string> ids, string? etag) =>
        StateOperation.Upsert(new StateSetRequest(IndexKey, JsonSerializer.SerializeToUtf8Bytes(ids), etag, StateConcurrency.FirstWrite));
}
