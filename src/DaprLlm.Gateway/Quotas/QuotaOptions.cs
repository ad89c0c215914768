using System.ComponentModel.DataAnnotations;
using DaprLlm.Gateway.Tenants;

namespace DaprLlm.Gateway.Quotas;

/// <summary>Quota settings (section "Quotas"), validated at start.</summary>
public sealed class QuotaOptions : IValidatableObject
{
    public const string Section = "Quotas";

    /// <summary>Per-key limits of each tier (a tenant's own higher limits raise them, see <see cref="ForKey"/>).</summary>
    public Dictionary<string, QuotaLimits> Tiers { get; set; } = new()
    {
        [Tenants.Tiers.Free] = new() { RequestsPerMinute = 20, TokensPerMinute = 10_000, TokensPerDay = 200_000, MaxConcurrentRequests = 2, BurstRequests = 5, BurstTokens = 2_000 },
        [Tenants.Tiers.Pro] = new() { RequestsPerMinute = 600, TokensPerMinute = 200_000, TokensPerDay = 10_000_000, MaxConcurrentRequests = 32, BurstRequests = 100, BurstTokens = 40_000 },
        [Tenants.Tiers.Enterprise] = new() { RequestsPerMinute = 6_000, TokensPerMinute = 2_000_000, TokensPerDay = 200_000_000, MaxConcurrentRequests = 256, BurstRequests = 1_000, BurstTokens = 400_000 },
    };

    /// <summary>A tenant's shared quota is this many times a key's (unless the tenant sets its own limits).</summary>
    [Range(1, 1_000)]
    public int TenantFactor { get; set; } = 4;

    /// <summary>A replica leases at most (limit + burst) / LeaseDivisor beyond what a request needs.</summary>
    [Range(1, 10_000)]
    public int LeaseDivisor { get; set; } = 16;

    /// <summary>How often leases settle with their actors (returns, overruns, idle slots).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>An idle lease gives its unused allowance back after this long.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan IdleReturnAfter { get; set; } = TimeSpan.FromSeconds(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var tier in Tenants.Tiers.All.Where(t => !Tiers.ContainsKey(t)))
        {
            yield return new ValidationResult($"Quotas:Tiers has no limits for tier '{tier}'");
        }

        foreach (var (tier, limits) in Tiers)
        {
            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(limits, new ValidationContext(limits), results, validateAllProperties: true))
            {
                foreach (var r in results)
                {
                    yield return new ValidationResult($"Quotas:Tiers:{tier}: {r.ErrorMessage}");
                }
            }
        }
    }

    /// <summary>
    /// A key's limits: the tier's per-key limits, each raised to the tenant's own limit where the tenant set a higher
    /// one (a tenant granted 5,000 requests a minute can use them with one key), with the burst in proportion. The
    /// tenant's shared quota still caps all its keys together; a tenant limit below the tier's is enforced there.
    /// </summary>
    public QuotaLimits ForKey(Tenant tenant)
    {
        var tier = Tiers[tenant.Tier];
        if (tenant.Limits is not { } o)
        {
            return tier;
        }

        var requests = Math.Max(tier.RequestsPerMinute, o.RequestsPerMinute ?? 0);
        var tokens = Math.Max(tier.TokensPerMinute, o.TokensPerMinute ?? 0);
        return new QuotaLimits
        {
            RequestsPerMinute = requests,
            TokensPerMinute = tokens,
            TokensPerDay = Math.Max(tier.TokensPerDay, o.TokensPerDay ?? 0),
            MaxConcurrentRequests = Math.Max(tier.MaxConcurrentRequests, o.MaxConcurrentRequests ?? 0),
            BurstRequests = (int)Scale(tier.BurstRequests, requests, tier.RequestsPerMinute),
            BurstTokens = Scale(tier.BurstTokens, tokens, tier.TokensPerMinute),
        };
    }

    public QuotaLimits ForTenant(Tenant tenant)
    {
        var key = Tiers[tenant.Tier];
        var o = tenant.Limits;
        var requests = o?.RequestsPerMinute ?? key.RequestsPerMinute * TenantFactor;
        var tokens = o?.TokensPerMinute ?? key.TokensPerMinute * TenantFactor;
        return new QuotaLimits
        {
            RequestsPerMinute = requests,
            TokensPerMinute = tokens,
            TokensPerDay = o?.TokensPerDay ?? key.TokensPerDay * TenantFactor,
            MaxConcurrentRequests = o?.MaxConcurrentRequests ?? key.MaxConcurrentRequests * TenantFactor,
            // The burst keeps the tier's proportion to the limit it goes with: a tenant set to 5 requests a minute
            // must not get the tier's 100 x TenantFactor on top.
            BurstRequests = (int)Scale(key.BurstRequests, requests, key.RequestsPerMinute),
            BurstTokens = Scale(key.BurstTokens, tokens, key.TokensPerMinute),
        };
    }

    private static long Scale(long burst, long limit, long tierLimit) => tierLimit <= 0 ? 0 : (long)((decimal)burst * limit / tierLimit);
}
