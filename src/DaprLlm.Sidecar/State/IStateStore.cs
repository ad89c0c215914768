namespace DaprLlm.Sidecar.State;

/// <summary>daprd's two concurrency modes for writes that carry an ETag.</summary>
public enum StateConcurrency
{
    LastWrite,
    FirstWrite,
}

/// <summary>A stored value with its ETag. Keys are full store keys (already prefixed, e.g. "app||key").</summary>
public sealed record StateEntry(string Key, byte[] Value, string ETag, DateTimeOffset? ExpiresAt = null);

/// <summary>An upsert. With an ETag the write succeeds only if it matches; FirstWrite without ETag succeeds only for a new key.</summary>
public sealed record StateSetRequest(string Key, byte[] Value, string? ETag = null,
    StateConcurrency Concurrency = StateConcurrency.LastWrite, TimeSpan? Ttl = null);

/// <summary>A delete. With an ETag it succeeds only if it matches.</summary>
public sealed record StateDeleteRequest(string Key, string? ETag = null, StateConcurrency Concurrency = StateConcurrency.LastWrite);

/// <summary>One operation of a transaction: exactly one of <see cref="Set"/> or <see cref="Delete"/>.</summary>
public sealed record StateOperation(StateSetRequest? Set, StateDeleteRequest? Delete)
{
    public static StateOperation Upsert(StateSetRequest set) => new(set, null);

    public static StateOperation Remove(StateDeleteRequest delete) => new(null, delete);

    public string Key => Set?.Key ?? Delete!.Key;
}

/// <summary>The store rejected a write because of its ETag: stale (mismatch) or malformed (invalid).</summary>
public sealed class StateETagException(string key, bool invalid = false)
    : Exception(invalid ? $"invalid etag for key '{key}'" : $"possible etag mismatch for key '{key}'")
{
    public string Key { get; } = key;

    public bool Invalid { get; } = invalid;
}

/// <summary>
/// A state store component (state.*). Implementations are safe for concurrent use and apply
/// transactions atomically. TTL-expired entries are never returned.
/// </summary>
public interface IStateStore
{
    /// <summary>True when the component sets actorStateStore: "true".</summary>
    bool IsActorStateStore { get; }

    /// <summary>Feature names for the metadata API: ETAG, TRANSACTIONAL, TTL, ACTOR.</summary>
    IReadOnlyList<string> Features { get; }

    Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken);

    Task<IReadOnlyList<StateEntry?>> BulkGetAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    /// <exception cref="StateETagException">The ETag does not match, or is malformed.</exception>
    Task SetAsync(StateSetRequest request, CancellationToken cancellationToken);

    /// <exception cref="StateETagException">The ETag does not match, or is malformed.</exception>
    Task DeleteAsync(StateDeleteRequest request, CancellationToken cancellationToken);

    /// <summary>Applies every operation or none.</summary>
    /// <exception cref="StateETagException">One operation's ETag does not match; nothing was applied.</exception>
    Task TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken);
}
