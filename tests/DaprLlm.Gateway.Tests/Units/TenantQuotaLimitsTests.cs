using DaprLlm.Gateway.Quotas;
using DaprLlm.Gateway.Tenants;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>
/// A tenant's shared quota: the tier's limits times the tenant factor, or the tenant's own, with a burst in proportion;
/// its keys' limits: the tier's, raised to the tenant's own where those are higher.
/// </summary>
public sealed class TenantQuotaLimitsTests
{
    private static Tenant ProTenant(TenantLimits? limits) => new("acme", Tiers.Pro, "eu", ["eu"], [], limits, "buffer", DateTimeOffset.UnixEpoch);

    [Fact]
    public void Without_own_limits_a_tenant_gets_the_tier_s_limits_and_burst_times_the_factor()
    {
        var options = new QuotaOptions();
        var limits = options.ForTenant(ProTenant(null));
        Assert.Equal((600 * 4, 200_000L * 4, 100 * 4, 40_000L * 4), (limits.RequestsPerMinute, limits.TokensPerMinute, limits.BurstRequests, limits.BurstTokens));
    }

    [Fact]
    public void Own_limits_get_the_tier_s_burst_in_proportion_not_the_full_multiplied_burst()
    {
        var limits = new QuotaOptions().ForTenant(ProTenant(new TenantLimits(RequestsPerMinute: 60, TokensPerMinute: 2_000)));

        // pro: 100 of 600 requests and 40,000 of 200,000 tokens are burst; before, 400 and 160,000 were added.
        Assert.Equal((60, 10), (limits.RequestsPerMinute, limits.BurstRequests));
        Assert.Equal((2_000L, 400L), (limits.TokensPerMinute, limits.BurstTokens));
    }

    [Fact]
    public void Own_limits_above_the_tier_s_raise_the_key_s_limits_with_the_burst_in_proportion()
    {
        var options = new QuotaOptions();
        var tenant = ProTenant(new TenantLimits(RequestsPerMinute: 5_000, TokensPerMinute: 1_000_000));
        var key = options.ForKey(tenant);

        // A one-key tenant can use what it was granted; before, the key stayed at the tier's 600 requests and 200,000 tokens.
        Assert.Equal((5_000, 833), (key.RequestsPerMinute, key.BurstRequests));
        Assert.Equal((1_000_000L, 200_000L), (key.TokensPerMinute, key.BurstTokens));
        Assert.Equal((10_000_000L, 32), (key.TokensPerDay, key.MaxConcurrentRequests)); // not set by the tenant: the tier's
        Assert.Null(QuotaService.TooLarge(300_000, key, options.ForTenant(tenant)));
    }

    [Fact]
    public void Own_limits_below_the_tier_s_leave_the_key_at_the_tier_and_the_tenant_quota_caps_it()
    {
        var options = new QuotaOptions();
        var tenant = ProTenant(new TenantLimits(RequestsPerMinute: 60, TokensPerMinute: 2_000));
        var key = options.ForKey(tenant);

        Assert.Equal((600, 200_000L), (key.RequestsPerMinute, key.TokensPerMinute));
        Assert.Contains("Limit 2400, Requested 2401", QuotaService.TooLarge(2_401, key, options.ForTenant(tenant)));
    }

    [Fact]
    public void A_request_is_too_large_only_beyond_the_smaller_ceiling_of_key_and_tenant()
    {
        var key = new QuotaLimits { TokensPerMinute = 1_000, BurstTokens = 200, TokensPerDay = 100_000 };
        var tenant = new QuotaLimits { TokensPerMinute = 5_000, BurstTokens = 0, TokensPerDay = 900 };

        Assert.Null(QuotaService.TooLarge(900, key, tenant));
        Assert.Contains("tokens per day (TPD): Limit 900, Requested 901", QuotaService.TooLarge(901, key, tenant));
        Assert.Contains("tokens per min (TPM): Limit 1200, Requested 1201", QuotaService.TooLarge(1_201, key, tenant));
    }
}
