using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.EndToEnd.Tests.Infrastructure;

namespace DaprLlm.EndToEnd.Tests;

/// <summary>
/// GDPR erasure through the whole system: the admin CLI erases a data subject in the audit app, the erasure is
/// recorded in a chain that still verifies, and the broadcast reaches the gateway, whose cached answers for that
/// subject stop being served.
/// </summary>
public sealed class SubjectErasureTests(DaprLlmAppFixture system) : IClassFixture<DaprLlmAppFixture>
{
    private const string DevAdminKey = AdminCli.DevAdminKey;
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
        verify.Headers.Add("X-Admin-Key", DevAdminKey);
        using var verified = await audit.SendAsync(verify, ct);
        var body = await verified.Content.ReadAsStringAsync(ct);
        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("ok").GetBoolean(), body);
    }
}
