using System.Security.Cryptography;
using System.Text;
using DaprLlm.Gateway.Tenants;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace DaprLlm.Gateway.Auth;

/// <summary>
/// Resolves a JWT bearer token (issuer, audience, signature and lifetime checked against configuration) to a caller
/// of the tenant named by <see cref="JwtOptions.TenantClaim"/>. Only enterprise tenants may use tokens. Each subject
/// gets its own per-key quota (a stable pseudo key id derived from issuer and subject); the tenant quota is shared.
/// </summary>
public sealed class JwtAuthenticator
{
    private readonly JwtOptions _options;
    private readonly ApiKeyAuthenticator _keys;
    private readonly JsonWebTokenHandler _handler = new();
    private readonly TokenValidationParameters? _parameters;

    public JwtAuthenticator(IOptions<JwtOptions> options, ApiKeyAuthenticator keys)
    {
        _options = options.Value;
        _keys = keys;
        if (_options.Enabled)
        {
            _parameters = new TokenValidationParameters
            {
                ValidIssuer = _options.Issuer,
                ValidAudience = _options.Audience,
                IssuerSigningKeys = _options.SigningKeys.Select(ToKey).ToList(),
                ValidateIssuer = true,
                ValidateAudience = true,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                RequireSignedTokens = true,
                ClockSkew = _options.ClockSkew,
            };
        }
    }

    public bool Enabled => _parameters is not null;

    /// <summary>A compact JWS: three base64url parts, the header starting with '{"' (eyJ).</summary>
    public static bool LooksLikeJwt(string token) => token.StartsWith("eyJ", StringComparison.Ordinal) && token.Count(c => c == '.') == 2;

    public async ValueTask<Caller?> AuthenticateAsync(string token, CancellationToken ct)
    {
        if (_parameters is null || token.Length > 8_192)
        {
            return null;
        }

        var result = await _handler.ValidateTokenAsync(token, _parameters);
        if (!result.IsValid || !result.Claims.TryGetValue(_options.TenantClaim, out var claim) || claim?.ToString() is not { Length: > 0 } tenantId)
        {
            return null;
        }

        var tenant = await _keys.GetTenantAsync(tenantId, ct);
        if (tenant is not { Tier: Tiers.Enterprise })
        {
            return null;
        }

        var subject = result.Claims.TryGetValue("sub", out var sub) ? sub?.ToString() ?? "" : "";
        // The per-key quota of a subject within its tenant: the same sub (or none, client credentials) in two tenants
        // must not share one quota actor.
        var keyId = "jwt-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{_options.Issuer}\n{tenant.Id}\n{subject}")))[..12];
        return new Caller(new ApiKeyRecord(keyId, tenant.Id, $"jwt:{subject}", "", "", DateTimeOffset.UnixEpoch), tenant);
    }

    private static SecurityKey ToKey(string configured)
    {
        if (configured.StartsWith("base64:", StringComparison.Ordinal))
        {
            return new SymmetricSecurityKey(Convert.FromBase64String(configured["base64:".Length..]));
        }

        var rsa = RSA.Create();
        rsa.ImportFromPem(configured);
        return new RsaSecurityKey(rsa);
    }
}
