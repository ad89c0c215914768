using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Auth;

/// <summary>
/// Optional JWT bearer tokens from an OAuth issuer for enterprise tenants (section "Jwt"), validated at start.
/// Signing keys: "base64:&lt;key&gt;" for HMAC (HS256) or an RSA public key in PEM.
/// </summary>
public sealed class JwtOptions : IValidatableObject
{
    public const string Section = "Jwt";

    public bool Enabled { get; set; }

    public string? Issuer { get; set; }

    public string? Audience { get; set; }

    public string[] SigningKeys { get; set; } = [];

    /// <summary>The claim that names the tenant; the tenant must exist and be on the enterprise tier.</summary>
    [Required]
    public string TenantClaim { get; set; } = "tenant_id";

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Enabled && (string.IsNullOrWhiteSpace(Issuer) || string.IsNullOrWhiteSpace(Audience) || SigningKeys.Length == 0))
        {
            yield return new ValidationResult("Jwt:Enabled needs Jwt:Issuer, Jwt:Audience and at least one Jwt:SigningKeys entry");
        }
    }
}
