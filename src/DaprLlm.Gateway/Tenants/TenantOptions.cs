using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Tenants;

/// <summary>Tenant settings (section "Tenants"), validated at start.</summary>
public sealed class TenantOptions
{
    public const string Section = "Tenants";

    /// <summary>How long a verified key or tenant is trusted from the local cache (revocation reaches other replicas within this).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan CacheFor { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often each replica reads the recently revoked keys (revocation reaches every replica within this).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan RevocationPoll { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Regions a tenant may be placed in.</summary>
    [MinLength(1)]
    public string[] Regions { get; set; } = ["eu", "us"];

    [Required]
    public DevelopmentTenantOptions Development { get; set; } = new();
}

/// <summary>The development tenant a local first run creates.</summary>
public sealed class DevelopmentTenantOptions
{
    [Required]
    public string Tier { get; set; } = Tiers.Pro;

    [Required]
    public string HomeRegion { get; set; } = "eu";

    [MinLength(1)]
    public string[] AllowedRegions { get; set; } = ["eu", "us"];

    [Required]
    public string StreamingPolicy { get; set; } = Tiers.PolicyWindow;
}
