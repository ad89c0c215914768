using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.EndToEnd.Tests.Infrastructure;

namespace DaprLlm.EndToEnd.Tests;

/// <summary>The audit trail in the whole system: a request's event is chained, signed and verifiable through the admin API.</summary>
public sealed class AuditTrailPathTests(DaprLlmAppFixture system) : IClassFixture<DaprLlmAppFixture>
{
    // The development admin key of src/DaprLlm.Audit/appsettings.Development.json (the AppHost runs in Development).
    private const string DevAdminKey = "dev-only-admin-key-change-me";
    private static readonly TimeSpan EventualTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_request_is_recorded_in_a_hash_chain_that_verifies_and_counts_in_the_report()
    {
        var ct = TestContext.Current.CancellationToken;
        using var gateway = system.CreateClient("gateway");
        using var response = await gateway.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = "Hello from the audit test." } },
            max_tokens = 8,
        }, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = Assert.Single(response.Headers.GetValues("x-request-id"));

        using var audit = system.CreateClient("audit");
        await Poll.UntilAsync(async () =>
        {
            using var stored = await audit.GetAsync($"/audit/requests/{requestId}", ct);
            return stored.StatusCode == HttpStatusCode.OK ? "stored" : null;
        }, EventualTimeout, $"the audit record of {requestId}");

        using var checkpoint = new HttpRequestMessage(HttpMethod.Post, "/admin/checkpoint");
        checkpoint.Headers.Add("X-Admin-Key", DevAdminKey);
        using (var signed = await audit.SendAsync(checkpoint, ct))
        {
            Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        }

        using var verify = new HttpRequestMessage(HttpMethod.Get, "/admin/verify");
        verify.Headers.Add("X-Admin-Key", DevAdminKey);
        using var verified = await audit.SendAsync(verify, ct);
        var body = await verified.Content.ReadAsStringAsync(ct);
        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        using var report = JsonDocument.Parse(body);
        Assert.True(report.RootElement.GetProperty("ok").GetBoolean(), body);
        var eu = report.RootElement.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == "eu");
        Assert.True(eu.GetProperty("recordsChecked").GetInt64() >= 1, body);
        Assert.Equal(0, eu.GetProperty("unsignedTail").GetInt64());
    }
}
