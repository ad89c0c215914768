using System.Net;
using System.Text.Json;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>A tenant's own limits (admin API "limits") above the tier's per-key limits are usable by its keys.</summary>
public sealed class TenantOwnLimitsTests(OwnLimitsGateway gateway) : IClassFixture<OwnLimitsGateway>
{
    [Fact]
    public async Task A_one_key_tenant_granted_more_than_the_tier_s_per_key_limits_can_use_them()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = gateway.Admin();
        var id = $"t-{Guid.NewGuid():N}"[..20];
        using (var created = await admin.PostAsJsonAsync("/admin/tenants", new
        {
            id,
            tier = "pro",
            homeRegion = "eu",
            allowedRegions = new[] { "eu" },
            limits = new { requestsPerMinute = 5_000, tokensPerMinute = 100_000 },
        }, ct))
        {
            created.EnsureSuccessStatusCode();
        }

        using var keyResponse = await admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "only" }, ct);
        keyResponse.EnsureSuccessStatusCode();
        using var client = gateway.Client((await keyResponse.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString());

        // The tier's per-key ceiling here is 2,400 tokens a minute; the tenant was granted 100,000. Before, the key kept
        // the tier's limits: 600 requests a minute in the headers and this request "too large" (Limit 2400).
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = "hi" } },
            max_tokens = 4_000,
        }, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("5000", Assert.Single(response.Headers.GetValues("x-ratelimit-limit-requests")));
    }
}
