using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using DaprLlm.Gateway.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace DaprLlm.Gateway.Tests;

/// <summary>Optional JWT bearer tokens for enterprise tenants: issuer, audience, signature and lifetime from config.</summary>
public sealed class JwtTests(JwtGateway gateway) : IClassFixture<JwtGateway>
{
    private static readonly object Chat = new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 8 };

    [Fact]
    public async Task A_token_of_an_enterprise_tenant_is_accepted()
    {
        var ct = TestContext.Current.CancellationToken;
        var (tenant, _) = await gateway.CreateTenantAsync(tier: "enterprise", ct: ct);
        using var client = WithToken(Token(tenant, gateway.SigningKey));
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.Contains("x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task The_same_subject_in_two_tenants_has_two_quotas()
    {
        var ct = TestContext.Current.CancellationToken;
        var (acme, _) = await gateway.CreateTenantAsync(tier: "enterprise", ct: ct);
        var (globex, _) = await gateway.CreateTenantAsync(tier: "enterprise", ct: ct);
        async Task<string> RemainingAfterOneRequest(string tenant)
        {
            using var client = WithToken(Token(tenant, gateway.SigningKey));
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return Assert.Single(response.Headers.GetValues("x-ratelimit-remaining-requests"));
        }

        // Both tokens say sub "user-1": hashed without the tenant, globex's first request was counted on acme's quota.
        Assert.Equal(await RemainingAfterOneRequest(acme), await RemainingAfterOneRequest(globex));
    }

    [Fact]
    public async Task Tokens_of_other_tiers_or_with_a_wrong_signature_audience_issuer_or_lifetime_are_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        var (enterprise, _) = await gateway.CreateTenantAsync(tier: "enterprise", ct: ct);
        var (pro, _) = await gateway.CreateTenantAsync(tier: "pro", ct: ct);
        var now = DateTime.UtcNow;
        string[] refused =
        [
            Token(pro, gateway.SigningKey),
            Token("no-such-tenant", gateway.SigningKey),
            Token(enterprise, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            Token(enterprise, gateway.SigningKey, audience: "someone-else"),
            Token(enterprise, gateway.SigningKey, issuer: "https://evil.example"),
            Token(enterprise, gateway.SigningKey, expires: now.AddMinutes(-5), notBefore: now.AddMinutes(-10)),
        ];
        foreach (var token in refused)
        {
            using var client = WithToken(token);
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat, ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("invalid_api_key", (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(ct)).GetProperty("error").GetProperty("code").GetString());
        }

        // API keys keep working beside tokens.
        using var keyed = gateway.Client();
        using var ok = await keyed.PostAsJsonAsync("/v1/chat/completions", Chat, ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    private HttpClient WithToken(string token)
    {
        var client = gateway.Client("placeholder-key-not-used-0000");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static string Token(string tenant, byte[] key, string audience = JwtGateway.Audience, string issuer = JwtGateway.Issuer,
        DateTime? expires = null, DateTime? notBefore = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim("sub", "user-1"), new Claim("tenant_id", tenant)]),
            NotBefore = notBefore ?? DateTime.UtcNow.AddMinutes(-1),
            Expires = expires ?? DateTime.UtcNow.AddMinutes(10),
            IssuedAt = notBefore ?? DateTime.UtcNow.AddMinutes(-1),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256),
        });
}
