using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>The admin API refuses what would silently create a tenant or key other than the one asked for.</summary>
public sealed class AdminApiTests(SingleGateway gateway) : IClassFixture<SingleGateway>
{
    [Theory]
    [InlineData("{\"id\":\"t-limits\",\"limits\":{\"requestsPerMinute\":-5}}", "invalid_value", "limits.requestsPerMinute")]
    [InlineData("{\"id\":\"t-limits\",\"limits\":{\"tokensPerDay\":0}}", "invalid_value", "limits.tokensPerDay")]
    [InlineData("{\"id\":\"t-huge\",\"tier\":\"enterprise\",\"limits\":{\"requestsPerMinute\":2147483647}}", "invalid_value", "limits.requestsPerMinute")]
    [InlineData("{\"id\":\"t-huge\",\"limits\":{\"maxConcurrentRequests\":100001}}", "invalid_value", "limits.maxConcurrentRequests")]
    [InlineData("{\"id\":\"t-models\",\"allowedModels\":[\"daprllm-demo\",\"gpt-9\"]}", "invalid_value", "allowedModels")]
    [InlineData("{\"id\":\"t-typo\",\"allowedModel\":[\"daprllm-demo\"]}", "unknown_parameter", "allowedModel")]
    [InlineData("{\"id\":\"t-typo\",\"limits\":{\"requestsPerMin\":5}}", "unknown_parameter", "limits.requestsPerMin")]
    [InlineData("{\"id\":\"t-type\",\"limits\":{\"requestsPerMinute\":\"many\"}}", "invalid_type", "limits.requestsPerMinute")]
    [InlineData("{\"id\":\"t-json\",", "invalid_json", null)]
    public async Task A_tenant_body_that_does_not_say_what_it_means_is_refused_and_nothing_is_created(string body, string code, string? param)
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = gateway.Admin();
        using var response = await admin.PostAsync("/admin/tenants", new StringContent(body, Encoding.UTF8, "application/json"), ct);

        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        foreach (var id in new[] { "t-limits", "t-models", "t-typo", "t-type", "t-json" })
        {
            using var lookup = await admin.GetAsync($"/admin/tenants/{id}", ct);
            Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
        }
    }

    [Fact]
    public async Task Valid_limits_and_served_models_create_the_tenant_and_keys_take_a_sane_name()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = gateway.Admin();
        using var created = await admin.PostAsJsonAsync("/admin/tenants", new
        {
            id = "t-valid",
            tier = "pro",
            allowedModels = new[] { "daprllm-demo", "daprllm-embed" },
            limits = new { requestsPerMinute = 5, tokensPerDay = 1000 },
        }, ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var tenant = await created.Content.ReadFromJsonAsync<JsonElement>(ct);
        Assert.Equal(5, tenant.GetProperty("limits").GetProperty("requestsPerMinute").GetInt32());

        using var unnamed = await admin.PostAsync("/admin/tenants/t-valid/keys", null, ct);
        Assert.Equal(HttpStatusCode.Created, unnamed.StatusCode);

        using var tooLong = await admin.PostAsJsonAsync("/admin/tenants/t-valid/keys", new { name = new string('k', 101) }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        using var misspelt = await admin.PostAsJsonAsync("/admin/tenants/t-valid/keys", new { nmae = "ci" }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, misspelt.StatusCode);

        using var keys = await admin.GetAsync("/admin/tenants/t-valid/keys", ct);
        var names = (await keys.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("data").EnumerateArray().Select(k => k.GetProperty("name").GetString()).ToList();
        Assert.Equal(["default"], names);
    }
}
