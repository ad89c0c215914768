using System.Globalization;
using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.State;

/// <summary>state.in-memory: process-local, lost on restart, as daprd's in-memory store. ETags are integers.</summary>
public sealed class InMemoryStateStore(bool isActorStateStore, TimeProvider time) : IStateStore
{
    private readonly Dictionary<string, StateEntry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _version;

    public bool IsActorStateStore { get; } = isActorStateStore;

    public IReadOnlyList<string> Features { get; } = ["ETAG", "TRANSACTIONAL", "TTL", "ACTOR"];

    public Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Live(key));
        }
    }

    public Task<IReadOnlyList<StateEntry?>> BulkGetAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<StateEntry?>>(keys.Select(Live).ToList());
        }
    }

    public Task SetAsync(StateSetRequest request, CancellationToken cancellationToken) =>
        TransactAsync([StateOperation.Upsert(request)], cancellationToken);

    public Task DeleteAsync(StateDeleteRequest request, CancellationToken cancellationToken) =>
        TransactAsync([StateOperation.Remove(request)], cancellationToken);

    public Task TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // Check every ETag first so that a failing transaction changes nothing.
            foreach (var op in operations)
            {
                var (etag, concurrency) = op.Set is { } s ? (s.ETag, s.Concurrency) : (op.Delete!.ETag, op.Delete.Concurrency);
                Check(op.Key, etag, concurrency, isInsert: op.Set is not null);
            }

            foreach (var op in operations)
            {
                if (op.Set is { } set)
                {
                    var expires = set.Ttl is { } ttl && ttl > TimeSpan.Zero ? time.GetUtcNow() + ttl : (DateTimeOffset?)null;
                    _entries[set.Key] = new StateEntry(set.Key, set.Value, (++_version).ToString(CultureInfo.InvariantCulture), expires);
                }
                else
                {
                    _entries.Remove(op.Delete!.Key);
                }
            }
        }

        return Task.CompletedTask;
    }

    private void Check(string key, string? etag, StateConcurrency concurrency, bool isInsert)
    {
        var current = Live(key);
        if (!string.IsNullOrEmpty(etag))
        {
            if (!long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                throw new StateETagException(key, invalid: true);
            }

            if (current is null || current.ETag != etag)
            {
                throw new StateETagException(key);
            }
        }
        else if (concurrency == StateConcurrency.FirstWrite && isInsert && current is not null)
        {
            throw new StateETagException(key);
        }
    }

    private StateEntry? Live(string key)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            return null;
        }

        if (entry.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            _entries.Remove(key);
            return null;
        }

        return entry;
    }
}

/// <summary>Builds state.in-memory components.</summary>
public sealed class InMemoryStateStoreFactory(TimeProvider time) : IComponentFactory
{
    public IReadOnlyCollection<string> Types { get; } = ["state.in-memory"];

    public ValueTask<object> CreateAsync(ComponentSpec spec, CancellationToken cancellationToken) =>
        ValueTask.FromResult<object>(new InMemoryStateStore(spec.GetBool("actorStateStore"), time));
}
