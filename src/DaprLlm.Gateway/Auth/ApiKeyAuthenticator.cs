using System.Collections.Concurrent;
using DaprLlm.Gateway.Tenants;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Auth;

/// <summary>
/// Resolves a bearer key to its caller. Key records and tenants are cached for <see cref="TenantOptions.CacheFor"/>
/// so the hot path does not read state per request; the hash is still verified on every request.
/// A revocation on this replica takes effect at once, on other replicas within the cache time.
/// </summary>
public sealed class ApiKeyAuthenticator(TenantStore store, GatewaySecrets secrets, IOptions<TenantOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (ApiKeyRecord? Key, DateTimeOffset Until)> _keys = new();
    private readonly ConcurrentDictionary<string, (Tenant? Tenant, DateTimeOffset Until)> _tenants = new();

    public async ValueTask<Caller?> AuthenticateAsync(string presented, CancellationToken ct)
    {
        if (presented.Length is < 16 or > 256)
        {
            return null;
        }

        var (keyId, secret) = ApiKeyFormat.Split(presented);
        var record = await GetKeyAsync(keyId, ct);
        if (record is null || record.IsRevoked || !ApiKeyFormat.Verify((await secrets.GetAsync(ct)).Pepper, record, secret))
        {
            return null;
        }

        var tenant = await GetTenantAsync(record.TenantId, ct);
        return tenant is null ? null : new Caller(record, tenant);
    }

    /// <summary>Drops cached entries after an admin change on this replica.</summary>
    public void Forget(string keyId) => _keys.TryRemove(keyId, out _);

    public void ForgetTenant(string tenantId) => _tenants.TryRemove(tenantId, out _);

    private async ValueTask<ApiKeyRecord?> GetKeyAsync(string keyId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_keys.TryGetValue(keyId, out var cached) && cached.Until > now)
        {
            return cached.Key;
        }

        var record = await store.GetKeyAsync(keyId, ct);

        // Unknown ids are cached briefly too, so a flood of bad keys does not become a flood of state reads.
        _keys[keyId] = (record, now + (record is null ? TimeSpan.FromSeconds(1) : options.Value.CacheFor));
        return record;
    }

    /// <summary>A tenant by id, from the local cache when fresh.</summary>
    public async ValueTask<Tenant?> GetTenantAsync(string tenantId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_tenants.TryGetValue(tenantId, out var cached) && cached.Until > now)
        {
            return cached.Tenant;
        }

        var tenant = await store.GetTenantAsync(tenantId, ct);
        _tenants[tenantId] = (tenant, now + options.Value.CacheFor);
        return tenant;
    }
}
