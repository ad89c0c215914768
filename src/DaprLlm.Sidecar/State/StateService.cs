using System.Globalization;
using DaprLlm.Sidecar.Resiliency;

namespace DaprLlm.Sidecar.State;

/// <summary>What the HTTP and gRPC state APIs share: store lookup, key layout, request options, resiliency.</summary>
public sealed class StateService(StateStores stores, IResiliencyPolicies policies)
{
    public string AppId => stores.AppId;

    /// <summary>The store named <paramref name="name"/>, or daprd's "not configured" / "not found" error.</summary>
    public StateStoreHandle Resolve(string name)
    {
        if (!stores.Any)
        {
            throw StateApiException.NotConfigured(name, stores.AppId);
        }

        return stores.TryGet(name, out var handle) ? handle : throw StateApiException.NotFound(name, stores.AppId);
    }

    public static string StoreKey(StateStoreHandle handle, string key)
    {
        try
        {
            return handle.Keys.Apply(key);
        }
        catch (ArgumentException e)
        {
            throw StateApiException.IllegalKey(e.Message);
        }
    }

    /// <summary>
    /// ttlInSeconds request metadata as given: positive expires, zero or negative never expires, absent keeps the
    /// store's default. Negatives are kept as they are because stores differ on them (SQLite refuses below -1).
    /// </summary>
    public static TimeSpan? ParseTtl(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null || !metadata.TryGetValue("ttlInSeconds", out var text) || string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            throw new StateRequestException($"incorrect value for metadata 'ttlInSeconds': strconv.ParseInt: parsing \"{text}\": invalid syntax");
        }

        // As components-contrib's ParseTTL: beyond int32 seconds (68 years) is refused, which also keeps expiry dates representable.
        if (seconds > int.MaxValue)
        {
            throw new StateRequestException($"incorrect value for metadata 'ttlInSeconds': {seconds} is larger than {int.MaxValue}");
        }

        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>daprd's concurrency option names; empty means last-write.</summary>
    public static StateConcurrency ParseConcurrency(string? text) => text switch
    {
        null or "" or "last-write" => StateConcurrency.LastWrite,
        "first-write" => StateConcurrency.FirstWrite,
        _ => throw new StateRequestException($"unrecognized concurrency model '{text}'"),
    };

    public ValueTask<T> RunAsync<T>(string store, Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken) =>
        policies.ComponentOutbound(store).ExecuteAsync(call, cancellationToken);

    public async ValueTask RunAsync(string store, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        await policies.ComponentOutbound(store).ExecuteAsync(async ct => await call(ct), cancellationToken);
}

/// <summary>A request option the store cannot use (bad TTL, unknown concurrency): daprd reports it as a store error.</summary>
public sealed class StateRequestException(string message) : Exception(message)
{
    public StateRequestException()
        : this("invalid state request")
    {
    }
}
