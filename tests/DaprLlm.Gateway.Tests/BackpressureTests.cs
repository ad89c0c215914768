using System.Net;
using System.Text.Json;
using DaprLlm.Gateway.Backpressure;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>Bounded admission with tier priority, load shedding, disconnects, and the circuit breaker's fallback.</summary>
public sealed class BackpressureTests(TightGateway gateway) : IClassFixture<TightGateway>
{
    private AdmissionGate Gate => gateway.Node.Services.GetRequiredService<AdmissionGates>().For("daprllm-demo");

    [Fact]
    public async Task When_capacity_is_short_enterprise_is_served_before_free_that_waited_longer()
    {
        var ct = TestContext.Current.CancellationToken;
        using var free = gateway.Client(await gateway.CreateTenantKeyAsync(tier: "free", ct: ct));
        using var enterprise = gateway.Client(await gateway.CreateTenantKeyAsync(tier: "enterprise", ct: ct));
        var holder = await HoldThePlaceAsync(ct);
        try
        {
            var marker = Guid.NewGuid().ToString("N");
            var freeTask = free.PostAsJsonAsync("/v1/chat/completions", Chat($"free {marker}"), ct);
            await Deadline.WaitUntilAsync(() => Gate.Queued == 1, TimeSpan.FromSeconds(10), "the free request to queue");
            var enterpriseTask = enterprise.PostAsJsonAsync("/v1/chat/completions", Chat($"enterprise {marker}"), ct);
            await Deadline.WaitUntilAsync(() => Gate.Queued == 2, TimeSpan.FromSeconds(10), "the enterprise request to queue");

            Release(holder);
            using var e = await enterpriseTask;
            using var f = await freeTask;
            Assert.Equal(HttpStatusCode.OK, e.StatusCode);
            Assert.Equal(HttpStatusCode.OK, f.StatusCode);

            // The one place serves one generation at a time, so the backend's arrival order is the admission order
            // (the order the responses reach the test is not: it depends on thread scheduling on a busy machine).
            var order = gateway.Backend.GeneratePrompts.Where(p => p.EndsWith(marker, StringComparison.Ordinal)).ToList();
            Assert.Equal([$"enterprise {marker}", $"free {marker}"], order);
        }
        finally
        {
            Release(holder);
        }
    }

    [Fact]
    public async Task A_full_queue_is_shed_with_503_and_retry_after_and_a_disconnect_frees_its_place()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(tier: "enterprise", ct: ct));
        var holder = await HoldThePlaceAsync(ct);
        var queued = new List<Task<HttpResponseMessage>>();
        try
        {
            queued.Add(client.PostAsJsonAsync("/v1/chat/completions", Chat("hi"), ct));
            queued.Add(client.PostAsJsonAsync("/v1/chat/completions", Chat("hi"), ct));
            await Deadline.WaitUntilAsync(() => Gate.Queued == 2, TimeSpan.FromSeconds(10), "two queued requests");

            using var shed = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi"), ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, shed.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), shed.Headers.RetryAfter?.Delta);
            Assert.Equal("server_overloaded", (await shed.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("code").GetString());

            // A shed request is audited like any other refusal: received, then completed with its outcome and code.
            var shedId = Assert.Single(shed.Headers.GetValues("x-request-id"));
            var completed = await AuditStreams.WaitForAsync(gateway.Environment.Redis, DaprLlm.Contracts.Topics.RequestCompleted, shedId);
            Assert.Equal("shed", completed.GetProperty("outcome").GetString());
            Assert.Equal("server_overloaded", completed.GetProperty("errorCode").GetString());
            Assert.Equal(0, completed.GetProperty("completionTokens").GetInt32());
            await AuditStreams.WaitForAsync(gateway.Environment.Redis, DaprLlm.Contracts.Topics.RequestReceived, shedId);

            // Text completions share the same bounded admission: with the queue full they are shed too.
            using var shedCompletion = await client.PostAsJsonAsync("/v1/completions", new { model = "daprllm-demo", prompt = "hi", max_tokens = 8 }, ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, shedCompletion.StatusCode);
            Assert.Equal("server_overloaded", (await shedCompletion.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("code").GetString());

            // Admission is bounded per model: the full queue of daprllm-demo does not hold back daprllm-large.
            using var large = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "daprllm-large", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 8 }, ct);
            Assert.Equal(HttpStatusCode.OK, large.StatusCode);
        }
        finally
        {
            Release(holder);
        }

        foreach (var task in queued)
        {
            using var response = await task;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Deadline.WaitUntilAsync(() => Gate.InFlight == 0 && Gate.Queued == 0, TimeSpan.FromSeconds(10), "every place to be free again");
    }

    [Fact]
    public async Task A_failing_model_opens_its_breaker_falls_back_with_a_header_and_recovers()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(tier: "enterprise", ct: ct));
        var large = new { model = "daprllm-large", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 8 };
        gateway.Backend.FailingModels["daprllm-large"] = true;
        try
        {
            for (var i = 0; i < 2; i++)
            {
                using var failed = await client.PostAsJsonAsync("/v1/chat/completions", large, ct);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            }

            using var fallback = await client.PostAsJsonAsync("/v1/chat/completions", large, ct);
            Assert.Equal(HttpStatusCode.OK, fallback.StatusCode);
            Assert.Equal("daprllm-demo", Assert.Single(fallback.Headers.GetValues("x-daprllm-fallback-model")));
            Assert.Equal("daprllm-demo", (await fallback.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("model").GetString());

            // Text completions follow the same breaker.
            using var completion = await client.PostAsJsonAsync("/v1/completions", new { model = "daprllm-large", prompt = "hi", max_tokens = 8 }, ct);
            Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
            Assert.Equal("daprllm-demo", Assert.Single(completion.Headers.GetValues("x-daprllm-fallback-model")));

            // A tenant allowed only the failing model is not served by the fallback it may not use.
            using var admin = gateway.Admin();
            var onlyLarge = $"t-{Guid.NewGuid():N}"[..20];
            using (var created = await admin.PostAsJsonAsync("/admin/tenants",
                new { id = onlyLarge, tier = "enterprise", homeRegion = "eu", allowedRegions = new[] { "eu" }, allowedModels = new[] { "daprllm-large" } }, ct))
            {
                created.EnsureSuccessStatusCode();
            }

            using var keyResponse = await admin.PostAsJsonAsync($"/admin/tenants/{onlyLarge}/keys", new { name = "large" }, ct);
            using var restricted = gateway.Client((await keyResponse.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString());
            using var refused = await restricted.PostAsJsonAsync("/v1/chat/completions", large, ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.False(refused.Headers.Contains("x-daprllm-fallback-model"));
            using var refusedText = await restricted.PostAsJsonAsync("/v1/completions", new { model = "daprllm-large", prompt = "hi", max_tokens = 8 }, ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refusedText.StatusCode);
        }
        finally
        {
            gateway.Backend.FailingModels.TryRemove("daprllm-large", out _);
        }

        // After the open time one request probes the model; it succeeds and the breaker closes.
        await Deadline.WaitUntilAsync(async () =>
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", large, ct);
            return response.StatusCode == HttpStatusCode.OK && !response.Headers.Contains("x-daprllm-fallback-model")
                && (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("model").GetString() == "daprllm-large";
        }, TimeSpan.FromSeconds(15), "the model to be used again after the breaker's open time");
    }

    [Fact]
    public async Task A_region_confined_tenant_s_unreachable_region_does_not_send_other_tenants_to_the_fallback_model()
    {
        var ct = TestContext.Current.CancellationToken;
        using var euOnly = gateway.Client(await gateway.CreateTenantKeyAsync(tier: "enterprise", ct: ct));
        using var euAndUs = gateway.Client(await gateway.CreateTenantKeyAsync(tier: "enterprise", regions: ["eu", "us"], ct: ct));
        var large = new { model = "daprllm-large", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 8 };
        gateway.Backend.Down["inference-eu"] = true;
        try
        {
            // As many residency refusals as open the breaker (Routing:BreakerFailures = 2) if they were counted.
            for (var i = 0; i < 2; i++)
            {
                using var refused = await euOnly.PostAsJsonAsync("/v1/chat/completions", large, ct);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Equal("region_unavailable", (await refused.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("code").GetString());
            }

            // The model is healthy where this tenant may go (us): it gets the model it asked for, not the fallback.
            using var served = await euAndUs.PostAsJsonAsync("/v1/chat/completions", large, ct);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            Assert.False(served.Headers.Contains("x-daprllm-fallback-model"));
            Assert.Equal("daprllm-large", (await served.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("model").GetString());
        }
        finally
        {
            gateway.Backend.Down.TryRemove("inference-eu", out _);
        }
    }

    // A stream that hangs after its first token keeps the only place until it is released.
    private async Task<(HttpResponseMessage Response, HttpClient Client)> HoldThePlaceAsync(CancellationToken ct)
    {
        var client = gateway.Client(await gateway.CreateTenantKeyAsync(tier: "pro", ct: ct));
        gateway.Backend.HangAfterTokens = 1;
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hold" } }, stream = true }),
        };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Deadline.WaitUntilAsync(() => Gate.InFlight == 1, TimeSpan.FromSeconds(10), "the stream to hold the place");
        return (response, client);
    }

    private void Release((HttpResponseMessage Response, HttpClient Client) holder)
    {
        gateway.Backend.HangAfterTokens = -1;
        holder.Response.Dispose();
        holder.Client.Dispose();
    }

    private static object Chat(string content) => new { model = "daprllm-demo", messages = new[] { new { role = "user", content } }, max_tokens = 8 };
}
