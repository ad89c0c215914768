using DaprLlm.Contracts;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Tenants;
using DaprLlm.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>The API-key cache, the secrets' refresh and the tenant index, against an in-memory Dapr.</summary>
public sealed class GatewayAdminStoreTests
{
    private readonly FakeDapr _dapr = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly GatewaySecrets _secrets;
    private readonly TenantStore _store;

    public GatewayAdminStoreTests()
    {
        _dapr.Secrets[SecretNames.GatewayApiKeyPepper] = "unit-pepper";
        _dapr.Secrets[SecretNames.GatewayAdminKey] = "admin-key-before";
        _secrets = new GatewaySecrets(_dapr.Client, _time, NullLogger<GatewaySecrets>.Instance);
        _store = new TenantStore(_dapr.Client, _secrets, _time);
    }

    [Fact]
    public async Task Random_unknown_keys_do_not_grow_the_key_cache_without_bound()
    {
        var ct = TestContext.Current.CancellationToken;
        var auth = new ApiKeyAuthenticator(_store, _secrets, Options.Create(new TenantOptions()), _time);
        for (var i = 0; i < 10_500; i++)
        {
            Assert.Null(await auth.AuthenticateAsync(ApiKeyFormat.Generate().Key, ct));
        }

        Assert.InRange(auth.CachedKeyIds, 0, ApiKeyAuthenticator.MaxUnknownKeyIds);

        // Once they expired, the next unknown key sweeps them.
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(await auth.AuthenticateAsync(ApiKeyFormat.Generate().Key, ct));
        Assert.InRange(auth.CachedKeyIds, 0, 1);
    }

    [Fact]
    public async Task An_unknown_key_sent_again_within_a_second_is_not_read_again()
    {
        var ct = TestContext.Current.CancellationToken;
        var auth = new ApiKeyAuthenticator(_store, _secrets, Options.Create(new TenantOptions()), _time);
        var key = ApiKeyFormat.Generate().Key;
        Assert.Null(await auth.AuthenticateAsync(key, ct));
        var reads = _dapr.StateReads;
        Assert.Null(await auth.AuthenticateAsync(key, ct));
        Assert.Equal(reads, _dapr.StateReads);
    }

    [Fact]
    public async Task A_rotated_admin_key_replaces_the_old_one_once_the_refresh_time_has_passed()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal("admin-key-before", (await _secrets.GetAsync(ct)).AdminKey);

        _dapr.Secrets[SecretNames.GatewayAdminKey] = "admin-key-after";
        _time.Advance(GatewaySecrets.RefreshEvery + TimeSpan.FromSeconds(1));

        Assert.Equal("admin-key-after", (await _secrets.GetAsync(ct)).AdminKey);
    }

    [Fact]
    public async Task A_failed_secret_re_read_keeps_the_values_read_before()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal("admin-key-before", (await _secrets.GetAsync(ct)).AdminKey);

        _dapr.Secrets.Clear();
        _time.Advance(GatewaySecrets.RefreshEvery + TimeSpan.FromSeconds(1));

        Assert.Equal("admin-key-before", (await _secrets.GetAsync(ct)).AdminKey);
    }

    [Fact]
    public async Task A_tenant_whose_index_write_failed_is_listed_after_the_create_is_retried()
    {
        var ct = TestContext.Current.CancellationToken;
        var failures = 0;
        _dapr.FailSave = key => key == "tenants" && Interlocked.Increment(ref failures) <= 25;
        var tenant = new Tenant("t-lost", Tiers.Free, "eu", ["eu"], [], null, Tiers.PolicyWindow, _time.GetUtcNow());

        // The first create writes the tenant but loses every index race: the admin sees a 500.
        await Assert.ThrowsAsync<InvalidOperationException>(() => _store.CreateTenantAsync(tenant, ct));
        Assert.True(_dapr.HasState("tenant:t-lost"));

        // The retry is told the tenant exists (409), and puts it in the index.
        Assert.False(await _store.CreateTenantAsync(tenant, ct));
        Assert.Contains((await _store.ListTenantsAsync(ct)).Select(t => t.Id), id => id == "t-lost");
    }

    [Fact]
    public async Task Of_two_parallel_revocations_of_one_key_exactly_one_revokes_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var created = await _store.CreateKeyAsync("t-any", "ci", ct);

        var results = await Task.WhenAll(_store.RevokeKeyAsync(created.KeyId, ct), _store.RevokeKeyAsync(created.KeyId, ct));

        Assert.Single(results, r => r is (_, true));
        Assert.All(results, r => Assert.True(r!.Value.Record.IsRevoked));
    }
}
