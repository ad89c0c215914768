using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.EndToEnd.Tests.Infrastructure;

namespace DaprLlm.EndToEnd.Tests;

/// <summary>The audit trail in the whole system: a request's event is chained, signed and verifiable through the admin API.</summary>
public sealed class AuditTrailPathTests(DaprLlmAppFixture system) : IClassFixture<DaprLlmAppFixture>
{
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
            temperature = 0, // greedy: the answer (and so its output moderation) is the same on every run
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
        using (var signed = await audit.SendAsync(checkpoint, ct))
        {
            Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        }

        using var verify = new HttpRequestMessage(HttpMethod.Get, "/admin/verify");
        using var verified = await audit.SendAsync(verify, ct);
        var body = await verified.Content.ReadAsStringAsync(ct);
        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        using var report = JsonDocument.Parse(body);
        Assert.True(report.RootElement.GetProperty("ok").GetBoolean(), body);
        var eu = report.RootElement.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == "eu");
        Assert.True(eu.GetProperty("recordsChecked").GetInt64() >= 1, body);
        Assert.Equal(0, eu.GetProperty("unsignedTail").GetInt64());
    }

    [Fact]
    public async Task The_admin_cli_manages_keys_policies_and_alerts_against_the_running_apps()
    {
        var ct = TestContext.Current.CancellationToken;
        Task<(int Exit, string Output)> Run(params string[] args) => AdminCli.RunAsync(system, args);

        // Gateway: tenants and keys (development admin key of components/local/secrets.dev.json).
        var tenant = $"cli-{Guid.NewGuid():N}"[..16];
        var created = await Run("tenants", "create", tenant, "--tier", "pro");
        Assert.True(created.Exit == 0, created.Output);
        var key = await Run("keys", "create", "--tenant", tenant);
        Assert.True(key.Exit == 0, key.Output);
        var keyId = JsonDocument.Parse(key.Output).RootElement.GetProperty("keyId").GetString()!;
        var listed = await Run("keys", "list", "--tenant", tenant);
        Assert.Contains(keyId, listed.Output, StringComparison.Ordinal);
        var rotated = await Run("keys", "rotate", keyId);
        Assert.True(rotated.Exit == 0, rotated.Output);
        var revoked = await Run("keys", "revoke", JsonDocument.Parse(rotated.Output).RootElement.GetProperty("keyId").GetString()!);
        Assert.True(revoked.Exit == 0, revoked.Output);

        // Safety: a policy update is stored as a new revision and shown back.
        var set = await Run("policy", "set", tenant, "--pii-action", "block");
        Assert.True(set.Exit == 0, set.Output);
        var shown = await Run("policy", "show", tenant);
        Assert.True(shown.Exit == 0, shown.Output);
        var policy = JsonDocument.Parse(shown.Output).RootElement;
        Assert.Equal("stored", policy.GetProperty("source").GetString());
        Assert.Equal("block", policy.GetProperty("policy").GetProperty("piiAction").GetString(), ignoreCase: true);

        // Audit: the alert history answers; an unknown alert is the API's 404, not a crash.
        var alerts = await Run("alerts", "list");
        Assert.True(alerts.Exit == 0, alerts.Output);
        Assert.Contains("Severity", alerts.Output, StringComparison.Ordinal);
        var unknown = await Run("alerts", "ack", "no-such-alert");
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("no alert", unknown.Output, StringComparison.Ordinal);
    }
}
