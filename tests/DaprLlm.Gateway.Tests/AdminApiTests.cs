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
    [InlineData("{\"id\":\"t-null\",\"allowedModels\":[null]}", "invalid_value", "allowedModels")]
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
        foreach (var id in new[] { "t-limits", "t-models", "t-null", "t-typo", "t-type", "t-json" })
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

    [Fact]
    public async Task Parallel_rotations_of_one_key_issue_exactly_one_replacement()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = gateway.Admin();
        using var tenant = await admin.PostAsJsonAsync("/admin/tenants", new { id = "t-rotate" }, ct);
        Assert.Equal(HttpStatusCode.Created, tenant.StatusCode);
        using var key = await admin.PostAsync("/admin/tenants/t-rotate/keys", null, ct);
        var keyId = (await key.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("keyId").GetString();

        var rotations = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var response = await admin.PostAsync($"/admin/keys/{keyId}/rotate", null, ct);
            return response.StatusCode;
        }));

        Assert.Single(rotations, s => s == HttpStatusCode.OK);
        Assert.All(rotations.Where(s => s != HttpStatusCode.OK), s => Assert.Equal(HttpStatusCode.NotFound, s));
        var keys = (await admin.GetFromJsonAsync<JsonElement>("/admin/tenants/t-rotate/keys", ct)).GetProperty("data").EnumerateArray().ToList();
        Assert.Single(keys, k => k.GetProperty("revokedAt").ValueKind is JsonValueKind.Null or JsonValueKind.Undefined);
    }

    [Fact]
    public async Task Rotating_the_development_key_shows_the_replacement_and_a_second_revoke_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = gateway.Admin();
        var shown = await admin.GetFromJsonAsync<JsonElement>("/admin/dev-key", ct);
        var oldKeyId = shown.GetProperty("keyId").GetString();

        using var rotated = await admin.PostAsync($"/admin/keys/{oldKeyId}/rotate", null, ct);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var replacement = (await rotated.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString();
        Assert.Equal(replacement, (await admin.GetFromJsonAsync<JsonElement>("/admin/dev-key", ct)).GetProperty("key").GetString());

        // Revoking the already revoked key answers as before, with the first revocation's time.
        using var first = await admin.DeleteAsync($"/admin/keys/{oldKeyId}", ct);
        using var second = await admin.DeleteAsync($"/admin/keys/{oldKeyId}", ct);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(
            (await first.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("revokedAt").GetString(),
            (await second.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("revokedAt").GetString());
    }
}
