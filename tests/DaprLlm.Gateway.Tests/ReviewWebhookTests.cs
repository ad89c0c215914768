using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>A request held for human review names the review; the client's webhook is called (with retries) on review.decided.</summary>
public sealed class ReviewWebhookTests(SingleGateway gateway) : IClassFixture<SingleGateway>
{
    [Fact]
    public async Task The_review_webhook_is_called_with_retries_when_the_decision_is_published()
    {
        var ct = TestContext.Current.CancellationToken;
        var (tenantId, key) = await gateway.CreateTenantAsync(ct: ct);
        await using var receiver = await Receiver.StartAsync(failFirst: 1);
        var token = Guid.NewGuid().ToString("N")[..12];
        using var client = gateway.Client(key);
        client.DefaultRequestHeaders.Add("X-Review-Webhook", receiver.Url);
        using var refused = await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "daprllm-demo", messages = new[] { new { role = "user", content = $"needs-review-{token} please" } } }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = (await refused.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
        Assert.Equal("content_under_review", error.GetProperty("code").GetString());
        Assert.Contains($"/v1/reviews/rev-{token}", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        var requestId = Assert.Single(refused.Headers.GetValues("x-request-id"));

        // Published through the gateway's own sidecar; the sidecar delivers it to the gateway's subscription.
        var dapr = gateway.Node.Services.GetRequiredService<DaprClient>();
        await dapr.PublishEventAsync(DaprComponents.PubSub, Topics.ReviewDecided,
            new ReviewDecidedV1($"rev-{token}", tenantId, requestId, "input", "blocked", "block", "reviewer-1", DateTimeOffset.UtcNow, ["spam"], "p1", false), ct);

        await Deadline.WaitUntilAsync(() => !receiver.Delivered.IsEmpty, TimeSpan.FromSeconds(20), "the webhook to be delivered");
        var body = JsonDocument.Parse(Assert.Single(receiver.Delivered)).RootElement;
        Assert.Equal($"rev-{token}", body.GetProperty("review_id").GetString());
        Assert.Equal(requestId, body.GetProperty("request_id").GetString());
        Assert.Equal("blocked", body.GetProperty("status").GetString());
        Assert.Equal(2, receiver.Attempts);
    }

    [Fact]
    public async Task An_answer_held_for_review_names_the_review_on_text_completions_and_streams_keep_the_webhook()
    {
        var ct = TestContext.Current.CancellationToken;
        var (tenantId, key) = await gateway.CreateTenantAsync(policy: "buffer", ct: ct);
        await using var receiver = await Receiver.StartAsync(failFirst: 0);
        using var client = gateway.Client(key);
        client.DefaultRequestHeaders.Add("X-Review-Webhook", receiver.Url);

        // Text completions answered 200 with an empty text before: now the held answer is named, as on chat.
        var plain = Guid.NewGuid().ToString("N")[..12];
        using var completion = await client.PostAsJsonAsync("/v1/completions", new { model = "daprllm-demo", prompt = $"say doubtful-{plain}", max_tokens = 16 }, ct);
        var error = (await completion.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
        Assert.Equal(HttpStatusCode.BadRequest, completion.StatusCode);
        Assert.Equal("content_under_review", error.GetProperty("code").GetString());
        Assert.Contains($"rev-{plain}", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // A stream whose answer went to review keeps the client's webhook (it was never stored before).
        var streamed = Guid.NewGuid().ToString("N")[..12];
        using var stream = await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "daprllm-demo", messages = new[] { new { role = "user", content = $"say doubtful-{streamed}" } }, stream = true, max_tokens = 16 }, ct);
        Assert.Contains("content_filter", await stream.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        var requestId = Assert.Single(stream.Headers.GetValues("x-request-id"));
        var dapr = gateway.Node.Services.GetRequiredService<DaprClient>();
        await dapr.PublishEventAsync(DaprComponents.PubSub, Topics.ReviewDecided,
            new ReviewDecidedV1($"rev-{streamed}", tenantId, requestId, "output", "allowed", "allow", "reviewer-1", DateTimeOffset.UtcNow, [], "p1", false), ct);

        await Deadline.WaitUntilAsync(() => !receiver.Delivered.IsEmpty, TimeSpan.FromSeconds(20), "the stream's webhook to be delivered");
        Assert.Equal($"rev-{streamed}", JsonDocument.Parse(Assert.Single(receiver.Delivered)).RootElement.GetProperty("review_id").GetString());
    }

    [Fact]
    public async Task A_webhook_that_always_fails_gets_exactly_the_configured_attempts()
    {
        // The delivery loop owns its retries: the default Polly handler retried each POST too (a 500 was POSTed twice
        // per attempt, each attempt lasted the whole timeout) and its breaker was shared by every tenant's webhook.
        var ct = TestContext.Current.CancellationToken;
        var (tenantId, key) = await gateway.CreateTenantAsync(ct: ct);
        await using var receiver = await Receiver.StartAsync(failFirst: int.MaxValue);
        var token = Guid.NewGuid().ToString("N")[..12];
        using var client = gateway.Client(key);
        client.DefaultRequestHeaders.Add("X-Review-Webhook", receiver.Url);
        using var refused = await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "daprllm-demo", messages = new[] { new { role = "user", content = $"needs-review-{token} please" } } }, ct);
        Assert.Equal("content_under_review", (await refused.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("code").GetString());
        var requestId = Assert.Single(refused.Headers.GetValues("x-request-id"));

        var dapr = gateway.Node.Services.GetRequiredService<DaprClient>();
        await dapr.PublishEventAsync(DaprComponents.PubSub, Topics.ReviewDecided,
            new ReviewDecidedV1($"rev-{token}", tenantId, requestId, "input", "blocked", "block", "reviewer-1", DateTimeOffset.UtcNow, ["spam"], "p1", false), ct);

        // Given up: the registration is forgotten after the last attempt.
        await Deadline.WaitUntilAsync(async () => receiver.Attempts > 0
            && await dapr.GetStateAsync<JsonElement?>(DaprComponents.StateStore, $"reviewhook:rev-{token}", cancellationToken: ct) is null,
            TimeSpan.FromSeconds(60), "the webhook delivery to give up");
        Assert.Equal(3, receiver.Attempts);
        Assert.Empty(receiver.Delivered);
    }

    [Fact]
    public async Task A_webhook_that_is_not_an_absolute_url_is_a_400()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        client.DefaultRequestHeaders.Add("X-Review-Webhook", "not a url");
        using var response = await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } } }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_value", (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("code").GetString());
    }

    /// <summary>A local webhook receiver that fails its first calls with 500.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private WebApplication _app = null!;
        private int _attempts;

        public ConcurrentQueue<string> Delivered { get; } = new();

        public int Attempts => Volatile.Read(ref _attempts);

        public string Url { get; private set; } = "";

        public static async Task<Receiver> StartAsync(int failFirst)
        {
            var receiver = new Receiver();
            var port = Ports.GetFree();
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
            builder.Logging.ClearProviders();
            receiver._app = builder.Build();
            receiver._app.MapPost("/hook", async (HttpContext context) =>
            {
                if (Interlocked.Increment(ref receiver._attempts) <= failFirst)
                {
                    return Results.StatusCode(500);
                }

                using var reader = new StreamReader(context.Request.Body);
                receiver.Delivered.Enqueue(await reader.ReadToEndAsync());
                return Results.Ok();
            });
            await receiver._app.StartAsync();
            receiver.Url = $"http://127.0.0.1:{port}/hook";
            return receiver;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
