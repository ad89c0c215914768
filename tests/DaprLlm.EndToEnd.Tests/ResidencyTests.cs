using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using DaprLlm.EndToEnd.Tests.Infrastructure;

namespace DaprLlm.EndToEnd.Tests;

/// <summary>
/// Data residency through the real AppHost: two inference replicas ("inference" in eu, "inference-us" in us). An eu
/// tenant's requests reach only the eu replica, also when that replica is stopped: then they fail with a clear error.
/// Which replica served a request is read from the traces the replicas export (the test sets each request's trace id).
/// </summary>
public sealed class ResidencyTests(DaprLlmAppFixture system) : IClassFixture<DaprLlmAppFixture>
{
    private const string AdminKey = "dev-only-admin-key-change-me"; // components/local/secrets.dev.json
    private static readonly TimeSpan EventualTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_eu_tenant_never_reaches_the_us_replica_even_when_the_eu_replica_is_stopped()
    {
        var ct = TestContext.Current.CancellationToken;
        using var eu = await TenantClientAsync("eu", ct);
        using var us = await TenantClientAsync("us", ct);

        // Both replicas serve their own region.
        var usTrace = await SendAsync(us, HttpStatusCode.OK, "Where is the sea?", ct);
        await WaitForSpanAsync("inference-us", usTrace);
        var euTrace = await SendAsync(eu, HttpStatusCode.OK, "Where is the sea?", ct);
        await WaitForSpanAsync("inference", euTrace);
        Assert.DoesNotContain(system.Traces.Spans, s => s.TraceId == euTrace && s.Service.StartsWith("inference-us", StringComparison.Ordinal));

        await system.App.ResourceCommands.ExecuteCommandAsync("inference", KnownResourceCommands.StopCommand, ct);
        await system.App.ResourceNotifications.WaitForResourceAsync("inference", KnownResourceStates.TerminalStates, ct);

        // The eu tenant now gets a clear 503 naming its region, and nothing is sent to us.
        var (refusedTrace, error) = await SendForErrorAsync(eu, ct);
        Assert.Equal("region_unavailable", error.GetProperty("code").GetString());
        Assert.Contains("eu", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // A later us request's spans arrive after any the us replica would have exported for the refused one.
        var laterUs = await SendAsync(us, HttpStatusCode.OK, "Where is the river?", ct); // another prompt: not an exact-cache hit
        await WaitForSpanAsync("inference-us", laterUs);
        Assert.DoesNotContain(system.Traces.Spans, s => s.TraceId == refusedTrace && s.Service.StartsWith("inference-us", StringComparison.Ordinal));
    }

    private async Task<HttpClient> TenantClientAsync(string region, CancellationToken ct)
    {
        using var admin = system.CreateClient("gateway");
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        var id = $"{region}-{Guid.NewGuid():N}"[..16];
        using var created = await admin.PostAsJsonAsync("/admin/tenants", new { id, tier = "pro", homeRegion = region, allowedRegions = new[] { region } }, ct);
        created.EnsureSuccessStatusCode();
        using var key = await admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "residency" }, ct);
        key.EnsureSuccessStatusCode();
        var client = system.CreateClient("gateway");
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            (await key.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString());
        return client;
    }

    // Sends a short greedy chat (same answer, so same output moderation, on every run) with a fresh W3C trace id
    // (the gateway continues the caller's trace) and returns that id.
    private static async Task<string> SendAsync(HttpClient client, HttpStatusCode expected, string prompt, CancellationToken ct)
    {
        var (traceId, response) = await PostAsync(client, prompt, ct);
        using (response)
        {
            Assert.Equal(expected, response.StatusCode);
        }

        return traceId;
    }

    private static async Task<(string TraceId, JsonElement Error)> SendForErrorAsync(HttpClient client, CancellationToken ct)
    {
        // A prompt not sent before: an exact-cache hit would answer without reaching any replica.
        var (traceId, response) = await PostAsync(client, "Where is the hill?", ct);
        using (response)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            return (traceId, (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error"));
        }
    }

    private static async Task<(string TraceId, HttpResponseMessage Response)> PostAsync(HttpClient client, string prompt, CancellationToken ct)
    {
        var traceId = Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "daprllm-demo", messages = new[] { new { role = "user", content = prompt } }, max_tokens = 4, temperature = 0 }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{Guid.NewGuid().ToString("N")[..16]}-01");
        return (traceId, await client.SendAsync(request, ct));
    }

    private Task WaitForSpanAsync(string service, string traceId) =>
        Poll.UntilAsync(() => Task.FromResult(system.Traces.Spans.FirstOrDefault(s => s.TraceId == traceId && s.Service == service)),
            EventualTimeout, $"a span of trace {traceId} from {service}");
}
