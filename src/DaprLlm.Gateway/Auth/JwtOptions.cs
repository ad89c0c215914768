using System.ComponentModel.DataAnnotations;
using Microsoft.IdentityModel.Tokens;

namespace DaprLlm.Gateway.Auth;

/// <summary>
/// Optional JWT bearer tokens from an OAuth issuer for enterprise tenants (section "Jwt"), validated at start.
/// Signing keys: "base64:&lt;key&gt;" for HMAC (HS256, at least 256 bits) or an RSA public key in PEM, and/or the
/// issuer's OpenID Connect metadata (<see cref="Authority"/> or <see cref="MetadataAddress"/>), whose JWKS is fetched
/// again when a token names a key it does not hold, so a rolled IdP key works without a restart.
/// </summary>
public sealed class JwtOptions : IValidatableObject
{
    public const string Section = "Jwt";

    public bool Enabled { get; set; }

    /// <summary>The expected "iss"; may be left out when metadata is configured (its "issuer" is used).</summary>
    public string? Issuer { get; set; }

    public string? Audience { get; set; }

    public string[] SigningKeys { get; set; } = [];

    /// <summary>The issuer's base address; its metadata is at "/.well-known/openid-configuration".</summary>
    public string? Authority { get; set; }

    /// <summary>The OpenID Connect metadata document, when it is not under <see cref="Authority"/>.</summary>
    public string? MetadataAddress { get; set; }

    /// <summary>Metadata and JWKS over https only; off only for a local test issuer.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The shortest time between two metadata fetches forced by tokens signed with an unknown key.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan MetadataRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The claim that names the tenant; the tenant must exist and be on the enterprise tier.</summary>
    [Required]
    public string TenantClaim { get; set; } = "tenant_id";

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The metadata document's address, or null when tokens are checked against <see cref="SigningKeys"/> only.</summary>
    public string? MetadataDocument => !string.IsNullOrWhiteSpace(MetadataAddress) ? MetadataAddress
        : !string.IsNullOrWhiteSpace(Authority) ? Authority.TrimEnd('/') + "/.well-known/openid-configuration"
        : null;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }

        var metadata = MetadataDocument;
        if (string.IsNullOrWhiteSpace(Audience) || (metadata is null && (string.IsNullOrWhiteSpace(Issuer) || SigningKeys.Length == 0)))
        {
            yield return new ValidationResult(
                "Jwt:Enabled needs Jwt:Audience, and Jwt:Issuer with at least one Jwt:SigningKeys entry or Jwt:Authority / Jwt:MetadataAddress");
        }

        for (var i = 0; i < SigningKeys.Length; i++)
        {
            var key = JwtSigningKey.TryParse(SigningKeys[i], out var problem);
            if (key is RsaSecurityKey { Rsa: { } rsa })
            {
                rsa.Dispose();
            }

            if (problem is not null)
            {
                yield return new ValidationResult($"Jwt:SigningKeys:{i} {problem}");
            }
        }

        if (metadata is not null)
        {
            var setting = string.IsNullOrWhiteSpace(MetadataAddress) ? "Jwt:Authority" : "Jwt:MetadataAddress";
            if (!Uri.TryCreate(metadata, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                yield return new ValidationResult($"{setting} must be an absolute http(s) address");
            }
            else if (RequireHttpsMetadata && uri.Scheme != Uri.UriSchemeHttps)
            {
                yield return new ValidationResult($"{setting} must be https (Jwt:RequireHttpsMetadata=false only for a local test issuer)");
            }
        }
    }
}
