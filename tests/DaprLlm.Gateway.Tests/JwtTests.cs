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
    public async Task A_valid_token_of_a_tenant_whose_tier_may_not_use_tokens_is_forbidden_not_unauthenticated()
    {
        var ct = TestContext.Current.CancellationToken;
        var (pro, _) = await gateway.CreateTenantAsync(tier: "pro", ct: ct);
        using var client = WithToken(Token(pro, gateway.SigningKey));
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat, ct);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(ct)).GetProperty("error");
        Assert.Equal("permission_error", error.GetProperty("type").GetString());
        Assert.Contains("enterprise", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_token_is_logged_at_debug_with_the_reason_and_never_the_token()
    {
        var ct = TestContext.Current.CancellationToken;
        var (enterprise, _) = await gateway.CreateTenantAsync(tier: "enterprise", ct: ct);
        var now = DateTime.UtcNow;
        var expired = Token(enterprise, gateway.SigningKey, expires: now.AddMinutes(-5), notBefore: now.AddMinutes(-10));
        using var client = WithToken(expired);
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat, ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        // Before, the validation result was dropped: a misconfigured issuer or key turned every token into a silent 401.
        var logs = gateway.Node.Logs.ToString();
        Assert.Contains("Debug DaprLlm.Gateway.Auth.JwtAuthenticator: JWT refused: SecurityTokenExpiredException", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(expired.Split('.')[1], logs, StringComparison.Ordinal);
        Assert.DoesNotContain(expired.Split('.')[2], logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tokens_with_a_wrong_signature_audience_issuer_or_lifetime_or_of_no_tenant_are_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        var (enterprise, _) = await gateway.CreateTenantAsync(tier: "enterprise", ct: ct);
        var now = DateTime.UtcNow;
        string[] refused =
        [
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
