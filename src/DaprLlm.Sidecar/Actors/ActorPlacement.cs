using System.Diagnostics;
using System.Text.Json;
using DaprLlm.Sidecar.Hosting;
using DaprLlm.Sidecar.State;

namespace DaprLlm.Sidecar.Actors;

/// <summary>Who holds an actor (or hosts a type): a sidecar, its address and until when its claim is valid.</summary>
public sealed record ActorHostRecord(string Owner, string AppId, string Machine, int Pid, string Address, DateTimeOffset ExpiresAt, IReadOnlyList<string>? Types = null);

/// <summary>The outcome of trying to take an actor: either we hold it (with the lease's ETag) or another sidecar does.</summary>
public sealed record LeaseResult(bool Acquired, string? ETag, ActorHostRecord? Owner);

/// <summary>
/// Placement without a placement service. Each active actor has a lease key in the actor state store
/// (<c>daprllm||actors||lease||TYPE||ID</c>) naming the sidecar that holds it and an expiry. A lease is taken
/// with first-write (new key) or ETag (expired or dead owner) semantics, so exactly one sidecar wins; the
/// holder renews it on a heartbeat and deletes it on deactivation. A lease whose expiry has passed, or whose
/// owner process is gone (same machine), may be taken over: that is how a dead host's actors move.
/// Hosts of each type announce themselves in <c>daprllm||actors||hosts||TYPE</c> (also renewed by the heartbeat),
/// so a sidecar that does not host a type can forward a first call to one that does.
/// </summary>
public sealed class ActorPlacement(ActorStateStoreResolver stores, SidecarRegistry registry, SidecarOptions options, TimeProvider time)
{
    /// <summary>How long a lease or host entry lives without renewal.</summary>
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(15);

    /// <summary>How often held leases and host entries are renewed.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(4);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Identifies this sidecar process.</summary>
    public string Self { get; } = $"{options.AppId}@{Environment.MachineName}:{Environment.ProcessId}:{options.DaprHttpPort}";

    private IStateStore Store => stores.Store ?? throw new InvalidOperationException(ActorStateStoreResolver.MissingMessage);

    public ActorHostRecord Describe(IReadOnlyList<string>? types = null) =>
        new(Self, options.AppId, Environment.MachineName, Environment.ProcessId, registry.Self.HttpAddress.ToString(), time.GetUtcNow() + LeaseDuration, types);

    /// <summary>Tries to become the holder of <paramref name="key"/>.</summary>
    public async Task<LeaseResult> TryAcquireAsync(ActorKey key, CancellationToken cancellationToken)
    {
        var storeKey = LeaseKey(key);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var current = await Store.GetAsync(storeKey, cancellationToken);
            var record = current is null ? null : Read(current.Value);

            // A record that names this sidecar is rewritten too (not reused as is): a deactivation still holding its
            // ETag must then fail to delete the lease of this new activation.
            if (record is not null && record.Owner != Self && IsAlive(record))
            {
                return new LeaseResult(false, null, record);
            }

            try
            {
                await Store.SetAsync(new StateSetRequest(storeKey, Write(Describe()), current?.ETag, StateConcurrency.FirstWrite), cancellationToken);
                var mine = await Store.GetAsync(storeKey, cancellationToken);
                if (mine is not null && Read(mine.Value)?.Owner == Self)
                {
                    return new LeaseResult(true, mine.ETag, Read(mine.Value));
                }
            }
            catch (StateETagException)
            {
                // Another sidecar won the race: read again and see who.
            }
        }

        var final = await Store.GetAsync(storeKey, cancellationToken);
        return new LeaseResult(false, null, final is null ? null : Read(final.Value));
    }

    /// <summary>The live holder of <paramref name="key"/>, or null when nobody holds it.</summary>
    public async Task<ActorHostRecord?> GetOwnerAsync(ActorKey key, CancellationToken cancellationToken)
    {
        var current = await Store.GetAsync(LeaseKey(key), cancellationToken);
        var record = current is null ? null : Read(current.Value);
        return record is not null && IsAlive(record) ? record : null;
    }

    /// <summary>Extends a held lease; returns the new ETag, or null when the lease was lost.</summary>
    public async Task<string?> RenewAsync(ActorKey key, string etag, CancellationToken cancellationToken)
    {
        var storeKey = LeaseKey(key);
        try
        {
            await Store.SetAsync(new StateSetRequest(storeKey, Write(Describe()), etag, StateConcurrency.FirstWrite), cancellationToken);
            var now = await Store.GetAsync(storeKey, cancellationToken);
            return now is not null && Read(now.Value)?.Owner == Self ? now.ETag : null;
        }
        catch (StateETagException)
        {
            return null;
        }
    }

    public async Task ReleaseAsync(ActorKey key, string? etag, CancellationToken cancellationToken)
    {
        if (etag is null)
        {
            return;
        }

        try
        {
            await Store.DeleteAsync(new StateDeleteRequest(LeaseKey(key), etag, StateConcurrency.FirstWrite), cancellationToken);
        }
        catch (StateETagException)
        {
            // Already taken over by another sidecar: nothing of ours to remove.
        }
    }

    /// <summary>Adds or refreshes this sidecar in the hosts list of each type, dropping dead entries.</summary>
    public async Task AnnounceAsync(IReadOnlyList<string> types, bool remove, CancellationToken cancellationToken)
    {
        foreach (var type in types)
        {
            await UpdateHostsAsync(type, list =>
            {
                list.RemoveAll(h => h.Owner == Self || !IsAlive(h));
                if (!remove)
                {
                    list.Add(Describe(types));
                }
            }, cancellationToken);
        }
    }

    /// <summary>Live sidecars hosting <paramref name="type"/>.</summary>
    public async Task<IReadOnlyList<ActorHostRecord>> HostsAsync(string type, CancellationToken cancellationToken)
    {
        var entry = await Store.GetAsync(HostsKey(type), cancellationToken);
        var list = entry is null ? [] : JsonSerializer.Deserialize<List<ActorHostRecord>>(entry.Value, Json) ?? [];
        return list.Where(IsAlive).OrderBy(h => h.Owner, StringComparer.Ordinal).ToList();
    }

    /// <summary>A holder is alive until its expiry, unless it ran on this machine and its process is gone.</summary>
    public bool IsAlive(ActorHostRecord record)
    {
        if (record.ExpiresAt <= time.GetUtcNow())
        {
            return false;
        }

        if (record.Owner == Self || record.Machine != Environment.MachineName)
        {
            return true;
        }

        try
        {
            using var process = Process.GetProcessById(record.Pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private async Task UpdateHostsAsync(string type, Action<List<ActorHostRecord>> change, CancellationToken cancellationToken)
    {
        var key = HostsKey(type);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var entry = await Store.GetAsync(key, cancellationToken);
            var list = entry is null ? [] : JsonSerializer.Deserialize<List<ActorHostRecord>>(entry.Value, Json) ?? [];
            change(list);
            try
            {
                await Store.SetAsync(new StateSetRequest(key, JsonSerializer.SerializeToUtf8Bytes(list, Json), entry?.ETag, StateConcurrency.FirstWrite), cancellationToken);
                return;
            }
            catch (StateETagException)
            {
                await Task.Delay(Random.Shared.Next(5, 50), cancellationToken);
            }
        }
    }

    private static string LeaseKey(ActorKey key) => $"daprllm||actors||lease||{key.Type}||{key.Id}";

    private static string HostsKey(string type) => $"daprllm||actors||hosts||{type}";

    private static byte[] Write(ActorHostRecord record) => JsonSerializer.SerializeToUtf8Bytes(record, Json);

    private static ActorHostRecord? Read(byte[] value)
    {
        try
        {
            return JsonSerializer.Deserialize<ActorHostRecord>(value, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
