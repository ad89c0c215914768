using System.Security.Cryptography;
using System.Text;
using DaprLlm.Gateway.Tenants;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace DaprLlm.Gateway.Auth;

/// <summary>
/// Resolves a JWT bearer token (issuer, audience, signature and lifetime checked against configuration) to a caller
/// of the tenant named by <see cref="JwtOptions.TenantClaim"/>. Only enterprise tenants may use tokens. Each subject
/// gets its own per-key quota (a stable pseudo key id derived from issuer and subject); the tenant quota is shared.
/// Signing keys are the configured ones plus, when configured, the issuer's JWKS (fetched again when a token is signed
/// by a key it does not hold, at most once per <see cref="JwtOptions.MetadataRefreshInterval"/>).
/// </summary>
public sealed partial class JwtAuthenticator
{
    private readonly JwtOptions _options;
    private readonly ApiKeyAuthenticator _keys;
    private readonly ILogger<JwtAuthenticator> _logger;
    private readonly JsonWebTokenHandler _handler = new();
    private readonly ConfigurationManager<OpenIdConnectConfiguration>? _metadata;
    private readonly TokenValidationParameters? _template;
    private readonly SecurityKey[] _configuredKeys = [];
    private volatile Snapshot? _current;

    /// <summary>The validation parameters built from one metadata document (null without metadata).</summary>
    private sealed record Snapshot(OpenIdConnectConfiguration? Source, TokenValidationParameters Parameters);

    public JwtAuthenticator(IOptions<JwtOptions> options, ApiKeyAuthenticator keys, ILogger<JwtAuthenticator> logger)
    {
        _options = options.Value;
        _keys = keys;
        _logger = logger;
        if (!_options.Enabled)
        {
            return;
        }

        // Parsed and checked by JwtOptions.Validate at start: none is null here.
        _configuredKeys = _options.SigningKeys.Select(k => JwtSigningKey.TryParse(k, out _)!).ToArray();
        _template = new TokenValidationParameters
        {
            ValidIssuer = _options.Issuer,
            ValidAudience = _options.Audience,
            IssuerSigningKeys = _configuredKeys,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = _options.ClockSkew,
        };
        if (_options.MetadataDocument is { } address)
        {
            _metadata = new ConfigurationManager<OpenIdConnectConfiguration>(address, new OpenIdConnectConfigurationRetriever(),
                new HttpDocumentRetriever { RequireHttps = _options.RequireHttpsMetadata })
            {
                RefreshInterval = _options.MetadataRefreshInterval,
            };
        }
        else
        {
            _current = new Snapshot(null, _template);
        }
    }

    public bool Enabled => _template is not null;

    /// <summary>A compact JWS: three base64url parts, the header starting with '{"' (eyJ).</summary>
    public static bool LooksLikeJwt(string token) => token.StartsWith("eyJ", StringComparison.Ordinal) && token.Count(c => c == '.') == 2;

    public async ValueTask<JwtOutcome> AuthenticateAsync(string token, CancellationToken ct)
    {
        if (!Enabled || token.Length > 8_192)
        {
            return default;
        }

        var result = await ValidateAsync(token, ct);
        if (result is null)
        {
            return default;
        }

        if (!result.IsValid)
        {
            // The reason only (IdentityModel hides claim values and the token itself unless ShowPII is set).
            LogRefused(_logger, result.Exception?.GetType().Name ?? "unknown", result.Exception?.Message ?? "");
            return default;
        }

        if (!result.Claims.TryGetValue(_options.TenantClaim, out var claim) || claim?.ToString() is not { Length: > 0 } tenantId)
        {
            LogNoTenant(_logger, _options.TenantClaim);
            return default;
        }

        var tenant = await _keys.GetTenantAsync(tenantId, ct);
        if (tenant is null)
        {
            LogUnknownTenant(_logger, tenantId);
            return default;
        }

        if (tenant.Tier != Tiers.Enterprise)
        {
            // The token is genuine: the caller is known but not allowed this way (403, not 401).
            return new JwtOutcome(null, $"JWT bearer tokens are available to enterprise tenants only; tenant '{tenant.Id}' is on the {tenant.Tier} tier. Use an API key.");
        }

        var subject = result.Claims.TryGetValue("sub", out var sub) ? sub?.ToString() ?? "" : "";
        // The per-key quota of a subject within its tenant: the same sub (or none, client credentials) in two tenants
        // must not share one quota actor.
        var issuer = _options.Issuer ?? result.Issuer;
        var keyId = "jwt-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{issuer}\n{tenant.Id}\n{subject}")))[..12];
        return new JwtOutcome(new Caller(new ApiKeyRecord(keyId, tenant.Id, $"jwt:{subject}", "", "", DateTimeOffset.UnixEpoch), tenant), null);
    }

    /// <summary>The validation result, or null when the issuer's metadata cannot be read (logged).</summary>
    private async Task<TokenValidationResult?> ValidateAsync(string token, CancellationToken ct)
    {
        var parameters = await ParametersAsync(ct);
        if (parameters is null)
        {
            return null;
        }

        var result = await _handler.ValidateTokenAsync(token, parameters.Parameters);
        if (_metadata is not null && result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // The issuer may have rolled its key since the last fetch: fetch again (at most once per refresh interval)
            // and try once more with the new keys.
            _metadata.RequestRefresh();
            if (await ParametersAsync(ct) is { } refreshed && !ReferenceEquals(refreshed, parameters))
            {
                result = await _handler.ValidateTokenAsync(token, refreshed.Parameters);
            }
        }

        return result;
    }

    private async ValueTask<Snapshot?> ParametersAsync(CancellationToken ct)
    {
        if (_metadata is null)
        {
            return _current;
        }

        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await _metadata.GetConfigurationAsync(ct);
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException)
        {
            // Only until the first document is read: afterwards the manager keeps the last one it got.
            LogMetadataUnavailable(_logger, _options.MetadataDocument!, e.Message);
            return null;
        }

        var current = _current;
        if (current is not null && ReferenceEquals(current.Source, configuration))
        {
            return current;
        }

        var parameters = _template!.Clone();
        parameters.IssuerSigningKeys = [.. _configuredKeys, .. configuration.SigningKeys];
        parameters.ValidIssuer = _options.Issuer ?? configuration.Issuer;
        var snapshot = new Snapshot(configuration, parameters);
        _current = snapshot;
        return snapshot;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "JWT refused: {ExceptionType}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string exceptionType, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "JWT refused: valid, but without the tenant claim '{Claim}'")]
    private static partial void LogNoTenant(ILogger logger, string claim);

    [LoggerMessage(Level = LogLevel.Debug, Message = "JWT refused: valid, but tenant '{TenantId}' does not exist")]
    private static partial void LogUnknownTenant(ILogger logger, string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "JWT refused: the issuer's metadata at {Address} could not be read ({Error})")]
    private static partial void LogMetadataUnavailable(ILogger logger, string address, string error);
}

/// <summary>
/// What a bearer JWT resolved to: a caller; or, for a genuine token whose tenant may not use tokens, why it is
/// forbidden (403); or neither (401).
/// </summary>
public readonly record struct JwtOutcome(Caller? Caller, string? Forbidden);
