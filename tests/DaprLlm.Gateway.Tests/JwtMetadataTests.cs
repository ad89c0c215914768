using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using DaprLlm.Gateway.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace DaprLlm.Gateway.Tests;

/// <summary>JWT signing keys from the issuer's OpenID Connect metadata and JWKS, picked up again when the issuer rolls its key.</summary>
public sealed class JwtMetadataTests(JwksGateway gateway) : IClassFixture<JwksGateway>
{
    private static readonly object Chat = new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 8 };

    [Fact]
    public async Task After_the_issuer_rolls_its_key_tokens_signed_with_the_new_key_are_accepted_without_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        var (tenant, _) = await gateway.CreateTenantAsync(tier: "enterprise", ct: ct);
        var oldKey = gateway.Issuer.Key;
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(Token(tenant, oldKey), ct));

        gateway.Issuer.RollKey();
        var newToken = Token(tenant, gateway.Issuer.Key);

        // The first token with the unknown key makes the gateway fetch the JWKS again (at most once a second here).
        await Deadline.WaitUntilAsync(async () => await ChatAsync(newToken, ct) == HttpStatusCode.OK,
            TimeSpan.FromSeconds(15), "a token signed with the issuer's new key to be accepted");

        // The JWKS no longer has the old key.
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatAsync(Token(tenant, oldKey), ct));
    }

    private async Task<HttpStatusCode> ChatAsync(string token, CancellationToken ct)
    {
        using var client = gateway.Client("placeholder-key-not-used-0000");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat, ct);
        return response.StatusCode;
    }

    private string Token(string tenant, RsaSecurityKey key) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = gateway.Issuer.BaseAddress,
            Audience = JwtGateway.Audience,
            Subject = new ClaimsIdentity([new Claim("sub", "user-1"), new Claim("tenant_id", tenant)]),
            NotBefore = DateTime.UtcNow.AddMinutes(-1),
            Expires = DateTime.UtcNow.AddMinutes(10),
            IssuedAt = DateTime.UtcNow.AddMinutes(-1),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
}
