using Dapr.Client;
using DaprLlm.Contracts;

namespace DaprLlm.Gateway.Tenants;

/// <summary>
/// Tenants and API keys in the Dapr state store. Keys: <c>tenant:{id}</c>, <c>apikey:{keyId}</c>,
/// <c>tenants</c> (index of tenant ids) and <c>tenantkeys:{tenantId}</c> (index of its key ids). Index updates use
/// ETags, so two replicas creating tenants at once do not lose one.
/// </summary>
public sealed class TenantStore(DaprClient dapr, GatewaySecrets secrets, TimeProvider time)
{
    private const string TenantIndex = "tenants";
    private const string DevKeyEntry = "devkey";
    private const string RevocationList = "revocations";

    // Replicas poll every second or so; a revocation stays listed long after every replica has applied it.
    private const int MaxRecentRevocations = 1_000;

    public Task<Tenant?> GetTenantAsync(string id, CancellationToken ct) =>
        dapr.GetStateAsync<Tenant?>(DaprComponents.StateStore, $"tenant:{id}", cancellationToken: ct);

    public Task<ApiKeyRecord?> GetKeyAsync(string keyId, CancellationToken ct) =>
        dapr.GetStateAsync<ApiKeyRecord?>(DaprComponents.StateStore, $"apikey:{keyId}", cancellationToken: ct);

    /// <summary>Creates a tenant; false when one with that id exists (also when another admin created it a moment ago).</summary>
    public async Task<bool> CreateTenantAsync(Tenant tenant, CancellationToken ct)
    {
        if (await GetTenantAsync(tenant.Id, ct) is not null || !await TrySaveAsync($"tenant:{tenant.Id}", tenant, etag: null, ct))
        {
            // The tenant exists, but a create that failed after writing it may have left it out of the index: the
            // index write is idempotent, so an admin's retry (answered 409) repairs the listing.
            await AddToIndexAsync(TenantIndex, tenant.Id, ct);
            return false;
        }

        await AddToIndexAsync(TenantIndex, tenant.Id, ct);
        return true;
    }

    public async Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken ct)
    {
        var ids = await ReadIndexAsync(TenantIndex, ct);
        var tenants = new List<Tenant>(ids.Count);
        foreach (var id in ids)
        {
            if (await GetTenantAsync(id, ct) is { } tenant)
            {
                tenants.Add(tenant);
            }
        }

        return tenants;
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(string tenantId, CancellationToken ct)
    {
        var ids = await ReadIndexAsync($"tenantkeys:{tenantId}", ct);
        var keys = new List<ApiKeyRecord>(ids.Count);
        foreach (var id in ids)
        {
            if (await GetKeyAsync(id, ct) is { } key)
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    /// <summary>Creates a key for a tenant and returns the full key, which is not stored anywhere.</summary>
    public async Task<CreatedApiKey> CreateKeyAsync(string tenantId, string name, CancellationToken ct, string? presetKey = null)
    {
        var pepper = (await secrets.GetAsync(ct)).Pepper;
        string key, keyId, secret;
        if (presetKey is null)
        {
            (key, keyId, secret) = ApiKeyFormat.Generate();
        }
        else
        {
            key = presetKey;
            (keyId, secret) = ApiKeyFormat.Split(presetKey);
        }

        var salt = ApiKeyFormat.NewSalt();
        var record = new ApiKeyRecord(keyId, tenantId, name, salt, ApiKeyFormat.Hash(pepper, salt, secret), time.GetUtcNow(),
            Development: presetKey is not null || name == DevTenant.KeyName);
        await dapr.SaveStateAsync(DaprComponents.StateStore, $"apikey:{keyId}", record, cancellationToken: ct);
        await AddToIndexAsync($"tenantkeys:{tenantId}", keyId, ct);
        return new CreatedApiKey(key, keyId, tenantId);
    }

    /// <summary>
    /// Marks a key revoked (kept for audit): null when it does not exist. The write is conditional on the record's
    /// ETag, so of two admins revoking or rotating the same key at once exactly one gets <c>RevokedNow</c>.
    /// </summary>
    public async Task<(ApiKeyRecord Record, bool RevokedNow)?> RevokeKeyAsync(string keyId, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (record, etag) = await dapr.GetStateAndETagAsync<ApiKeyRecord?>(DaprComponents.StateStore, $"apikey:{keyId}", cancellationToken: ct);
            if (record is null)
            {
                return null;
            }

            if (record.IsRevoked)
            {
                return (record, false);
            }

            var revoked = record with { RevokedAt = time.GetUtcNow() };
            if (await TrySaveAsync($"apikey:{keyId}", revoked, etag, ct))
            {
                return (revoked, true);
            }

            await BackOffAsync(attempt, ct);
        }

        throw new InvalidOperationException($"could not revoke key '{keyId}' after {MaxAttempts} attempts");
    }

    /// <summary>Key ids revoked recently, newest last (see <c>RevocationWatcher</c>).</summary>
    public async Task<List<string>> RecentRevocationsAsync(CancellationToken ct) => await ReadIndexAsync(RevocationList, ct);

    /// <summary>Appends a revoked key id to the bounded list every replica polls.</summary>
    public async Task AnnounceRevocationAsync(string keyId, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (ids, etag) = await dapr.GetStateAndETagAsync<List<string>?>(DaprComponents.StateStore, RevocationList, cancellationToken: ct);
            ids ??= [];
            ids.Add(keyId);
            if (ids.Count > MaxRecentRevocations)
            {
                ids.RemoveRange(0, ids.Count - MaxRecentRevocations);
            }

            if (await TrySaveAsync(RevocationList, ids, etag, ct))
            {
                return;
            }

            await BackOffAsync(attempt, ct);
        }

        throw new InvalidOperationException($"could not record the revocation after {MaxAttempts} attempts");
    }

    /// <summary>The local development key (so the admin CLI can show it), stored sealed, never in clear.</summary>
    public async Task<string?> GetDevKeyAsync(CancellationToken ct)
    {
        if (await dapr.GetStateAsync<string?>(DaprComponents.StateStore, DevKeyEntry, cancellationToken: ct) is not { } stored)
        {
            return null;
        }

        var pepper = (await secrets.GetAsync(ct)).Pepper;
        if (DevKeyProtector.Open(pepper, stored) is { } key)
        {
            return key;
        }

        // Written in clear by an older gateway: seal it now. A value sealed under another pepper cannot be shown.
        if (!DevKeyProtector.IsSealed(stored))
        {
            await SaveDevKeyAsync(stored, ct);
            return stored;
        }

        return null;
    }

    /// <summary>True when any development key is stored (sealed or not), whatever pepper sealed it.</summary>
    public async Task<bool> HasDevKeyAsync(CancellationToken ct) =>
        await dapr.GetStateAsync<string?>(DaprComponents.StateStore, DevKeyEntry, cancellationToken: ct) is not null;

    public async Task SaveDevKeyAsync(string key, CancellationToken ct) =>
        await dapr.SaveStateAsync(DaprComponents.StateStore, DevKeyEntry, DevKeyProtector.Seal((await secrets.GetAsync(ct)).Pepper, key), cancellationToken: ct);

    private static readonly StateOptions FirstWrite = new() { Concurrency = ConcurrencyMode.FirstWrite };

    /// <summary>
    /// Writes <paramref name="value"/> if the key still has <paramref name="etag"/>; with no ETag (a key read as absent),
    /// only if it is still absent (first-write), so two first writers cannot both succeed.
    /// </summary>
    private Task<bool> TrySaveAsync<T>(string key, T value, string? etag, CancellationToken ct) =>
        string.IsNullOrEmpty(etag)
            ? dapr.TrySaveStateAsync(DaprComponents.StateStore, key, value, "", FirstWrite, cancellationToken: ct)
            : dapr.TrySaveStateAsync(DaprComponents.StateStore, key, value, etag, cancellationToken: ct);

    private async Task<List<string>> ReadIndexAsync(string index, CancellationToken ct) =>
        await dapr.GetStateAsync<List<string>?>(DaprComponents.StateStore, index, cancellationToken: ct) ?? [];

    private async Task AddToIndexAsync(string index, string id, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (ids, etag) = await dapr.GetStateAndETagAsync<List<string>?>(DaprComponents.StateStore, index, cancellationToken: ct);
            ids ??= [];
            if (ids.Contains(id))
            {
                return;
            }

            ids.Add(id);
            if (await TrySaveAsync(index, ids, etag, ct))
            {
                return;
            }

            await BackOffAsync(attempt, ct);
        }

        throw new InvalidOperationException($"could not update index '{index}' after {MaxAttempts} attempts");
    }

    private const int MaxAttempts = 20;

    /// <summary>
    /// After a lost ETag race: a random pause that grows with the attempts (up to about 100 ms), so replicas writing
    /// the same index at once spread out instead of colliding again on every attempt. Real time on purpose: it paces
    /// writes, it is not business time; the jitter changes no outcome, only when the next attempt runs.
    /// </summary>
    private static Task BackOffAsync(int attempt, CancellationToken ct) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, 5 * (attempt + 1) + 1)), ct);
}
