using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using DaprLlm.EndToEnd.Tests.Infrastructure;

namespace DaprLlm.EndToEnd.Tests;

/// <summary>
/// GDPR erasure through the whole system: the admin CLI erases a data subject in the audit app, the erasure is
/// recorded in a chain that still verifies, and the broadcast reaches the gateway, whose cached answers for that
/// subject stop being served, and the review queue, whose items of that subject lose their content.
/// </summary>
public sealed partial class SubjectErasureTests(DaprLlmAppFixture system) : IClassFixture<DaprLlmAppFixture>
{
    private static readonly TimeSpan EventualTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Erasing_a_subject_with_the_cli_drops_their_cached_answers_and_is_recorded_in_a_verified_chain()
    {
        var ct = TestContext.Current.CancellationToken;
        using var gateway = system.CreateClient("gateway");
        using var audit = system.CreateClient("audit");
        var user = $"e2e-subject-{Guid.NewGuid():N}"[..24];
        var request = new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = $"Tell me about the hills and the rivers ({user})." } },
            max_tokens = 8,
            temperature = 0, // deterministic, so the gateway's exact cache keeps the answer
            user,
        };

        async Task<(string Cache, string RequestId)> Chat()
        {
            using var response = await gateway.PostAsJsonAsync("/v1/chat/completions", request, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (Assert.Single(response.Headers.GetValues("x-daprllm-cache")), Assert.Single(response.Headers.GetValues("x-request-id")));
        }

        var (first, requestId) = await Chat();
        Assert.Equal("miss", first);
        Assert.Equal("hit", (await Chat()).Cache);

        await Poll.UntilAsync(async () =>
        {
            using var stored = await audit.GetAsync($"/audit/requests/{requestId}", ct);
            return stored.StatusCode == HttpStatusCode.OK ? "stored" : null;
        }, EventualTimeout, $"the audit record of {requestId}");

        var erase = await AdminCli.RunAsync(system, "subject", "erase", "--tenant", "dev", "--region", "eu", "--user", user, "--yes");
        Assert.True(erase.Exit == 0, erase.Output);
        Assert.Contains("erased", erase.Output, StringComparison.Ordinal);

        // The gateway hears of the erasure through pub/sub; until then the entry may still be served, after that never.
        await Poll.UntilAsync(async () => (await Chat()).Cache == "miss" ? "purged" : null, EventualTimeout, $"the gateway dropping {user}'s cached answer");

        var export = await AdminCli.RunAsync(system, "subject", "export", "--tenant", "dev", "--region", "eu", "--user", user);
        Assert.True(export.Exit == 0, export.Output);
        Assert.Contains("subject.erased", export.Output, StringComparison.Ordinal);
        Assert.Contains(requestId, export.Output, StringComparison.Ordinal);

        using var verify = new HttpRequestMessage(HttpMethod.Get, "/admin/verify");
        using var verified = await audit.SendAsync(verify, ct);
        var body = await verified.Content.ReadAsStringAsync(ct);
        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("ok").GetBoolean(), body);
    }

    [Fact]
    public async Task Erasing_a_subject_with_the_cli_closes_their_review_items_and_erases_the_held_text()
    {
        var ct = TestContext.Current.CancellationToken;
        using var safety = system.CreateInvokeClient("safety");
        using var audit = system.CreateClient("audit");
        using var gateway = system.CreateClient("gateway");

        // A tenant of its own whose policy sends everything to review, so no other test's traffic is held.
        var tenant = $"erase-{Guid.NewGuid():N}"[..16];
        var created = await AdminCli.RunAsync(system, "tenants", "create", tenant, "--home-region", "eu");
        Assert.True(created.Exit == 0, created.Output);
        var key = await AdminCli.RunAsync(system, "keys", "create", "--tenant", tenant);
        Assert.True(key.Exit == 0, key.Output);
        gateway.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", JsonDocument.Parse(key.Output).RootElement.GetProperty("key").GetString());
        var policy = await AdminCli.RunAsync(system, "policy", "set", tenant, "--json", """{"categories":{"violence":{"allow":0.0,"block":1.0}}}""");
        Assert.True(policy.Exit == 0, policy.Output);

        var user = $"e2e-reviewed-{Guid.NewGuid():N}"[..24];
        var marker = $"lighthouse-{Guid.NewGuid():N}"[..20];
        using var held = await gateway.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = $"Tell me about the keeper of the {marker} by the sea." } },
            max_tokens = 8,
            user,
        }, ct);
        var heldBody = await held.Content.ReadAsStringAsync(ct);
        Assert.True(held.StatusCode == HttpStatusCode.BadRequest, heldBody);
        var error = JsonDocument.Parse(heldBody).RootElement.GetProperty("error");
        Assert.Equal("content_under_review", error.GetProperty("code").GetString());
        var reviewId = ReviewIdInMessage().Match(error.GetProperty("message").GetString()!).Groups[1].Value;
        var requestId = Assert.Single(held.Headers.GetValues("x-request-id"));

        // The item waits in the queue with the held text (as a reviewer would see it).
        Assert.Equal("pending", await ReviewStatusAsync(safety, reviewId, ct));

        // The client sees its own review through the gateway (no reviewer fields); another tenant cannot see it at all.
        using (var own = await gateway.GetAsync($"/v1/reviews/{reviewId}", ct))
        {
            var view = JsonDocument.Parse(await own.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.True(own.StatusCode == HttpStatusCode.OK, view.GetRawText());
            Assert.Equal("pending", view.GetProperty("status").GetString());
            Assert.Equal(requestId, view.GetProperty("request_id").GetString());
            Assert.False(view.TryGetProperty("decidedBy", out _) || view.TryGetProperty("decided_by", out _), view.GetRawText());
        }

        using (var devTenant = system.CreateClient("gateway"))
        using (var foreign = await devTenant.GetAsync($"/v1/reviews/{reviewId}", ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        }
        var before = await ReviewItemAsync(reviewId, ct);
        Assert.Contains(marker, before.GetProperty("text").GetString(), StringComparison.Ordinal);
        await Poll.UntilAsync(async () =>
        {
            using var stored = await audit.GetAsync($"/audit/requests/{requestId}", ct);
            return stored.StatusCode == HttpStatusCode.OK ? "stored" : null;
        }, EventualTimeout, $"the audit record of {requestId}");

        var erase = await AdminCli.RunAsync(system, "subject", "erase", "--tenant", tenant, "--region", "eu", "--user", user, "--yes");
        Assert.True(erase.Exit == 0, erase.Output);

        // subject.erased reaches the safety app through pub/sub: the open item leaves the queue with its default decision.
        await Poll.UntilAsync(async () => await ReviewStatusAsync(safety, reviewId, ct) == "defaulted" ? "closed" : null,
            EventualTimeout, $"review {reviewId} closed by the erasure");
        var after = await ReviewItemAsync(reviewId, ct);
        Assert.Equal("[erased]", after.GetProperty("text").GetString());
        Assert.Empty(after.GetProperty("conversation").EnumerateArray());
        Assert.DoesNotContain(marker, after.GetRawText(), StringComparison.Ordinal);
        using var closed = await gateway.GetAsync($"/v1/reviews/{reviewId}", ct);
        Assert.Equal("defaulted", JsonDocument.Parse(await closed.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("status").GetString());
    }

    private static async Task<string?> ReviewStatusAsync(HttpClient safety, string reviewId, CancellationToken ct)
    {
        using var response = await safety.GetAsync($"reviews/{reviewId}", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("status").GetString();
    }

    // The item as the review queue stores it, read through the safety app's own sidecar (the state API, not the app).
    private async Task<JsonElement> ReviewItemAsync(string reviewId, CancellationToken ct)
    {
        using var sidecar = system.CreateClient("safety-dapr");
        using var response = await sidecar.GetAsync($"/v1.0/state/statestore/{Uri.EscapeDataString("review|" + reviewId)}", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.Clone();
    }

    [GeneratedRegex(@"review id ([^)\s]+)\)")]
    private static partial Regex ReviewIdInMessage();
}
