using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.IdentityModel.Tokens;

namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>
/// An OAuth issuer on a real loopback port (ephemeral): its OpenID Connect metadata and a JWKS with one RSA key that
/// <see cref="RollKey"/> replaces, as an IdP does when it rolls its signing key.
/// </summary>
public sealed class StubIssuer : IAsyncDisposable
{
    private WebApplication? _app;
    private volatile RsaSecurityKey _key = NewKey();

    public string BaseAddress { get; private set; } = "";

    /// <summary>The key tokens are signed with now; the JWKS holds this key only.</summary>
    public RsaSecurityKey Key => _key;

    public void RollKey() => _key = NewKey();

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = BaseAddress,
            ["jwks_uri"] = $"{BaseAddress}/jwks",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        _app.MapGet("/jwks", () =>
        {
            var key = _key;
            var p = key.Rsa.ExportParameters(includePrivateParameters: false);
            return Results.Json(new
            {
                keys = new[]
                {
                    new { kty = "RSA", use = "sig", alg = "RS256", kid = key.KeyId, n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) },
                },
            });
        });
        await _app.StartAsync();
        BaseAddress = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/');
    }

    private static RsaSecurityKey NewKey() => new(RSA.Create(2048)) { KeyId = Guid.NewGuid().ToString("N") };

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
