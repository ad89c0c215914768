using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using DaprLlm.Gateway.Tenants;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Auth;

/// <summary>
/// Resolves a bearer key to its caller. Key records and tenants are cached for <see cref="TenantOptions.CacheFor"/>
/// so the hot path does not read state per request. The salted HMAC check runs once per cached record: after that a
/// SHA-256 of the secret that passed it is compared (fixed time), which costs a fraction of the HMAC. The verification
/// lives in the record's cache entry, so whatever drops the entry (a revocation or rotation on this replica at once,
/// on other replicas through <see cref="RevocationWatcher"/>, or its expiry) drops the verification with it.
/// An entry in use is re-read in the background during the last fifth of its life, so steady traffic does not wait
/// for the state store every <see cref="TenantOptions.CacheFor"/>; nothing is served past its expiry.
/// Unknown key ids (anyone can send one) are remembered for a second in a separate, size-capped map, and expired
/// entries of both maps are swept about once a second, so random keys cannot grow the cache.
/// </summary>
public sealed class ApiKeyAuthenticator(TenantStore store, GatewaySecrets secrets, IOptions<TenantOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, CachedKey> _keys = new();
    private readonly ConcurrentDictionary<string, (Tenant? Tenant, DateTimeOffset Until)> _tenants = new();
    private readonly ConcurrentDictionary<string, byte> _tenantRefreshes = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _unknown = new(StringComparer.Ordinal);
    private long _nextSweepTicks;

    /// <summary>At most this many unknown key ids are remembered; past it, a bad key costs a state read, not memory.</summary>
    public const int MaxUnknownKeyIds = 10_000;

    private static readonly TimeSpan UnknownFor = TimeSpan.FromSeconds(1);

    private static readonly CachedKey Unknown = new(null, DateTimeOffset.MaxValue);

    /// <summary>How many key ids are cached (known and unknown), for tests.</summary>
    public int CachedKeyIds => _keys.Count + _unknown.Count;

    public const int MinKeyLength = 16;

    public const int MaxKeyLength = 256;

    public async ValueTask<Caller?> AuthenticateAsync(string presented, CancellationToken ct)
    {
        if (presented.Length is < MinKeyLength or > MaxKeyLength)
        {
            return null;
        }

        var (keyId, secret) = ApiKeyFormat.Split(presented);
        var entry = await GetKeyAsync(keyId, ct);
        if (entry.Key is not { IsRevoked: false } record || !Verify(entry, (await secrets.GetAsync(ct)).Pepper, secret))
        {
            return null;
        }

        var tenant = await GetTenantAsync(record.TenantId, ct);
        return tenant is null ? null : new Caller(record, tenant);
    }

    /// <summary>Drops cached entries after an admin change on this replica.</summary>
    public void Forget(string keyId)
    {
        Interlocked.Increment(ref _forgets);
        _keys.TryRemove(keyId, out _);
        _unknown.TryRemove(keyId, out _);
    }

    // Counts Forget calls: a read that started before one may carry the record from before a revocation, so it is
    // used for its own request but not cached (cached, it would outlive the revocation for CacheFor on this replica).
    private long _forgets;

    public void ForgetTenant(string tenantId) => _tenants.TryRemove(tenantId, out _);

    private static bool Verify(CachedKey entry, string pepper, string secret)
    {
        Span<byte> digest = stackalloc byte[32];
        SecretDigest(secret, digest);
        if (entry.Verified is { } done && string.Equals(done.Pepper, pepper, StringComparison.Ordinal))
        {
            return CryptographicOperations.FixedTimeEquals(done.SecretSha256, digest);
        }

        if (!ApiKeyFormat.Verify(pepper, entry.Key!, secret))
        {
            return false;
        }

        entry.Verified = new VerifiedSecret(pepper, digest.ToArray());
        return true;
    }

    private static void SecretDigest(string secret, Span<byte> digest)
    {
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(secret.Length)];
        SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(secret, utf8)], digest);
    }

    private async ValueTask<CachedKey> GetKeyAsync(string keyId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_keys.TryGetValue(keyId, out var cached) && cached.Until > now)
        {
            if (cached.Key is not null && cached.Until - now < options.Value.CacheFor / 5 && Interlocked.Exchange(ref cached.Refreshing, 1) == 0)
            {
                _ = Task.Run(() => RefreshKeyAsync(keyId, cached));
            }

            return cached;
        }

        if (_unknown.TryGetValue(keyId, out var unknownUntil) && unknownUntil > now)
        {
            return Unknown;
        }

        SweepIfDue(now);
        var forgets = Interlocked.Read(ref _forgets);
        var entry = await ReadKeyAsync(keyId, null, ct);
        if (Interlocked.Read(ref _forgets) == forgets)
        {
            if (entry.Key is not null)
            {
                _keys[keyId] = entry;
                _unknown.TryRemove(keyId, out _);
            }
            else if (_unknown.Count < MaxUnknownKeyIds)
            {
                // Unknown ids are cached briefly too, so a flood of one bad key does not become a flood of state reads.
                _unknown[keyId] = entry.Until;
            }
        }

        return entry;
    }

    /// <summary>Drops expired entries, at most once per <see cref="UnknownFor"/> and by one caller at a time.</summary>
    private void SweepIfDue(DateTimeOffset now)
    {
        var due = Interlocked.Read(ref _nextSweepTicks);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextSweepTicks, (now + UnknownFor).UtcTicks, due) != due)
        {
            return;
        }

        foreach (var unknown in _unknown)
        {
            if (unknown.Value <= now)
            {
                _unknown.TryRemove(unknown);
            }
        }

        foreach (var known in _keys)
        {
            if (known.Value.Until <= now)
            {
                _keys.TryRemove(known);
            }
        }
    }

    private async Task<CachedKey> ReadKeyAsync(string keyId, CachedKey? previous, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var record = await store.GetKeyAsync(keyId, ct);

        var entry = new CachedKey(record, now + (record is null ? UnknownFor : options.Value.CacheFor));

        // The same record: the secret that passed against it still passes (the salted HMAC is not run again).
        if (previous is not null && record is not null && record == previous.Key)
        {
            entry.Verified = previous.Verified;
        }

        return entry;
    }

    private async Task RefreshKeyAsync(string keyId, CachedKey cached)
    {
        try
        {
            // Only over the entry it re-read: if a revocation or rotation dropped it meanwhile, the next request reads afresh.
            _keys.TryUpdate(keyId, await ReadKeyAsync(keyId, cached, CancellationToken.None), cached);
        }
        catch (Exception)
        {
            // The store did not answer: the entry expires as before and a request reads the store itself.
        }
    }

    /// <summary>A cached key record and, once a presented secret passed the HMAC check against it, that secret's digest.</summary>
    private sealed class CachedKey(ApiKeyRecord? key, DateTimeOffset until)
    {
        public ApiKeyRecord? Key { get; } = key;

        public DateTimeOffset Until { get; } = until;

        public VerifiedSecret? Verified { get; set; }

        /// <summary>1 once a background re-read has started for this entry.</summary>
        public int Refreshing;
    }

    /// <summary>The pepper the check used (a changed pepper re-runs it) and the SHA-256 of the secret that passed.</summary>
    private sealed record VerifiedSecret(string Pepper, byte[] SecretSha256);

    /// <summary>A tenant by id, from the local cache when fresh.</summary>
    public async ValueTask<Tenant?> GetTenantAsync(string tenantId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_tenants.TryGetValue(tenantId, out var cached) && cached.Until > now)
        {
            if (cached.Tenant is not null && cached.Until - now < options.Value.CacheFor / 5 && _tenantRefreshes.TryAdd(tenantId, 0))
            {
                _ = Task.Run(() => RefreshTenantAsync(tenantId, cached));
            }

            return cached.Tenant;
        }

        var tenant = await store.GetTenantAsync(tenantId, ct);
        _tenants[tenantId] = (tenant, now + options.Value.CacheFor);
        return tenant;
    }

    private async Task RefreshTenantAsync(string tenantId, (Tenant? Tenant, DateTimeOffset Until) cached)
    {
        try
        {
            var now = time.GetUtcNow();
            var tenant = await store.GetTenantAsync(tenantId, CancellationToken.None);
            _tenants.TryUpdate(tenantId, (tenant, now + options.Value.CacheFor), cached);
        }
        catch (Exception)
        {
            // As for keys: the entry expires and a request reads the store itself.
        }
        finally
        {
            _tenantRefreshes.TryRemove(tenantId, out _);
        }
    }
}
