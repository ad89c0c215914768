using System.Net;
using System.Text.Json;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>The exact cache: deterministic requests only, per tenant, never a flagged answer.</summary>
public sealed class CacheTests(SingleGateway gateway) : IClassFixture<SingleGateway>
{
    [Fact]
    public async Task A_deterministic_request_is_served_from_cache_the_second_time_with_cached_tokens()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        var request = new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "cache me " + Guid.NewGuid() } }, temperature = 0 };

        var before = gateway.Backend.CallsTo("inference-eu v1/generate");
        var (first, firstBody) = await SendAsync(client, request, ct);
        var (second, secondBody) = await SendAsync(client, request, ct);

        Assert.Equal("miss", first);
        Assert.Equal("hit", second);
        Assert.Equal(before + 1, gateway.Backend.CallsTo("inference-eu v1/generate"));
        Assert.Equal(Content(firstBody), Content(secondBody));
        Assert.Equal(FakeBackend.PromptTokens, secondBody.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
    }

    [Fact]
    public async Task Tenants_never_share_cache_entries()
    {
        var ct = TestContext.Current.CancellationToken;
        using var a = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        using var b = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        var request = new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "shared question " + Guid.NewGuid() } }, seed = 7 };

        Assert.Equal("miss", (await SendAsync(a, request, ct)).Cache);
        Assert.Equal("miss", (await SendAsync(b, request, ct)).Cache);
        Assert.Equal("hit", (await SendAsync(b, request, ct)).Cache);
    }

    [Fact]
    public async Task A_flagged_answer_is_never_stored_nor_served_from_cache()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        var request = new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "say forbidden " + Guid.NewGuid() } }, temperature = 0 };

        var (first, firstBody) = await SendAsync(client, request, ct);
        var (second, secondBody) = await SendAsync(client, request, ct);
        Assert.Equal(("miss", "miss"), (first, second));
        Assert.Equal("content_filter", secondBody.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("", Content(firstBody));
    }

    [Fact]
    public async Task A_sampled_request_is_not_cached_unless_the_client_opts_in()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        var request = new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "sampled " + Guid.NewGuid() } }, temperature = 0.8 };
        Assert.Equal("miss", (await SendAsync(client, request, ct)).Cache);
        Assert.Equal("miss", (await SendAsync(client, request, ct)).Cache);

        client.DefaultRequestHeaders.Add("x-daprllm-cache", "on");
        Assert.Equal("miss", (await SendAsync(client, request, ct)).Cache);
        Assert.Equal("hit", (await SendAsync(client, request, ct)).Cache);
    }

    [Fact]
    public async Task A_new_safety_policy_version_never_gets_an_answer_checked_under_the_old_one()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        var request = new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "policy " + Guid.NewGuid() } }, temperature = 0 };
        Assert.Equal("miss", (await SendAsync(client, request, ct)).Cache);
        Assert.Equal("hit", (await SendAsync(client, request, ct)).Cache);

        var previous = gateway.Backend.PolicyVersion;
        gateway.Backend.PolicyVersion = "p-next";
        try
        {
            // The version is part of the key: the answer is generated and checked again, then cached under the new version.
            var before = gateway.Backend.CallsTo("inference-eu v1/generate");
            Assert.Equal("miss", (await SendAsync(client, request, ct)).Cache);
            Assert.Equal(before + 1, gateway.Backend.CallsTo("inference-eu v1/generate"));
            Assert.Equal("hit", (await SendAsync(client, request, ct)).Cache);
        }
        finally
        {
            gateway.Backend.PolicyVersion = previous;
        }
    }

    private static string? Content(JsonElement body) => body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();

    private static async Task<(string Cache, JsonElement Body)> SendAsync(HttpClient client, object request, CancellationToken ct)
    {
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", request, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (Assert.Single(response.Headers.GetValues("x-daprllm-cache")), await response.Content.ReadFromJsonAsync<JsonElement>(ct));
    }
}
