using System.Net;
using System.Text.Json;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Audit;
using DaprLlm.Gateway.Tests.Infrastructure;
using DaprLlm.Outbox;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Gateway.Tests;

/// <summary>request.received, request.completed and admin.action reach pub/sub (Redis Streams) through the real sidecar.</summary>
public sealed class AuditEventTests(SingleGateway gateway) : IClassFixture<SingleGateway>
{
    [Fact]
    public async Task A_request_publishes_received_and_completed_with_route_region_cache_and_user()
    {
        var ct = TestContext.Current.CancellationToken;
        var (tenantId, key) = await gateway.CreateTenantAsync(ct: ct);
        using var client = gateway.Client(key);
        using var response = await client.PostAsJsonAsync("/v2/chat/completions",
            new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "audit me" } }, temperature = 0, user = "user-7" }, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = Assert.Single(response.Headers.GetValues("x-request-id"));

        var received = await AuditStreams.WaitForAsync(gateway.Environment.Redis, Topics.RequestReceived, requestId);
        Assert.Equal(tenantId, received.GetProperty("tenantId").GetString());
        Assert.Equal(key[3..15], received.GetProperty("keyId").GetString());
        Assert.Equal("user-7", received.GetProperty("userId").GetString());
        Assert.Equal("daprllm-demo", received.GetProperty("modelRequested").GetString());
        Assert.Equal("daprllm-demo", received.GetProperty("modelRouted").GetString());
        Assert.Equal("eu", received.GetProperty("region").GetString());
        Assert.Equal("miss", received.GetProperty("cache").GetString());
        Assert.False(received.GetProperty("fallbackUsed").GetBoolean());
        Assert.Equal("v2", received.GetProperty("apiVersion").GetString());

        var completed = await AuditStreams.WaitForAsync(gateway.Environment.Redis, Topics.RequestCompleted, requestId);
        Assert.Equal("completed", completed.GetProperty("outcome").GetString());
        Assert.Equal("allow", completed.GetProperty("inputDecision").GetString()); // moderated: both checks' decisions
        Assert.Equal("allow", completed.GetProperty("outputDecision").GetString());
        Assert.Equal(FakeBackend.PromptTokens, completed.GetProperty("promptTokens").GetInt32()); // usage
        Assert.True(completed.GetProperty("completionTokens").GetInt32() > 0);
        Assert.Equal("inference-eu", completed.GetProperty("route").GetString());
        Assert.Equal("eu", completed.GetProperty("region").GetString());
        Assert.Equal("miss", completed.GetProperty("cache").GetString());
        Assert.Equal(0, completed.GetProperty("cachedTokens").GetInt32());

        // The same request again is an exact hit, reported as such with its cached tokens.
        using var again = await client.PostAsJsonAsync("/v2/chat/completions",
            new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "audit me" } }, temperature = 0, user = "user-7" }, ct);
        var againId = Assert.Single(again.Headers.GetValues("x-request-id"));
        var hit = await AuditStreams.WaitForAsync(gateway.Environment.Redis, Topics.RequestCompleted, againId);
        Assert.Equal("hit", hit.GetProperty("cache").GetString());
        Assert.Equal(FakeBackend.PromptTokens, hit.GetProperty("cachedTokens").GetInt32());
    }

    [Fact]
    public async Task Embeddings_and_moderations_publish_received_and_completed_with_usage_or_error_code()
    {
        var ct = TestContext.Current.CancellationToken;
        var (tenantId, key) = await gateway.CreateTenantAsync(ct: ct);
        using var client = gateway.Client(key);

        using var embedded = await client.PostAsJsonAsync("/v1/embeddings", new { model = "daprllm-embed", input = new[] { "abcd", "efgh" }, user = "user-9" }, ct);
        Assert.Equal(HttpStatusCode.OK, embedded.StatusCode);
        var embeddedId = Assert.Single(embedded.Headers.GetValues("x-request-id"));
        var tokens = (await embedded.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        var received = await AuditStreams.WaitForAsync(gateway.Environment.Redis, Topics.RequestReceived, embeddedId);
        Assert.Equal(tenantId, received.GetProperty("tenantId").GetString());
        Assert.Equal("daprllm-embed", received.GetProperty("modelRequested").GetString());
        Assert.Equal("user-9", received.GetProperty("userId").GetString());
        var completed = await AuditStreams.WaitForAsync(gateway.Environment.Redis, Topics.RequestCompleted, embeddedId);
        Assert.Equal("completed", completed.GetProperty("outcome").GetString());
        Assert.Equal(tokens, completed.GetProperty("promptTokens").GetInt32());
        Assert.Equal("inference-eu", completed.GetProperty("route").GetString());
        Assert.Equal(key[3..15], completed.GetProperty("keyId").GetString());

        // A failed embedding is recorded with the error code its client got.
        using var failed = await client.PostAsJsonAsync("/v1/embeddings", new { model = "daprllm-embed", input = FakeBackend.TooLongInput }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, failed.StatusCode);
        var failedEvent = await AuditStreams.WaitForAsync(gateway.Environment.Redis, Topics.RequestCompleted, Assert.Single(failed.Headers.GetValues("x-request-id")));
        Assert.Equal("failed", failedEvent.GetProperty("outcome").GetString());
        Assert.Equal("context_length_exceeded", failedEvent.GetProperty("errorCode").GetString());

        using var moderated = await client.PostAsJsonAsync("/v1/moderations", new { input = "fine" }, ct);
        Assert.Equal(HttpStatusCode.OK, moderated.StatusCode);
        var moderatedId = Assert.Single(moderated.Headers.GetValues("x-request-id"));
        await AuditStreams.WaitForAsync(gateway.Environment.Redis, Topics.RequestReceived, moderatedId);
        var moderation = await AuditStreams.WaitForAsync(gateway.Environment.Redis, Topics.RequestCompleted, moderatedId);
        Assert.Equal("completed", moderation.GetProperty("outcome").GetString());
        Assert.Equal("omni-moderation-latest", moderation.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Key_creation_rotation_and_revocation_publish_admin_actions()
    {
        var ct = TestContext.Current.CancellationToken;
        var (tenantId, key) = await gateway.CreateTenantAsync(ct: ct);
        var keyId = key[3..15];
        using var admin = gateway.Admin();
        using var rotated = await admin.PostAsync($"/admin/keys/{keyId}/rotate", null, ct);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var newKeyId = (await rotated.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("keyId").GetString()!;
        using var revoked = await admin.DeleteAsync($"/admin/keys/{newKeyId}", ct);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);

        foreach (var (action, id) in new[] { ("tenant.created", tenantId), ("key.created", keyId), ("key.rotated", keyId), ("key.revoked", newKeyId) })
        {
            var e = await AuditStreams.WaitForAsync(gateway.Environment.Redis, Topics.AdminAction, id, d => d.GetProperty("action").GetString() == action);
            Assert.Equal(tenantId, e.GetProperty("tenantId").GetString());
            Assert.Equal("gateway", e.GetProperty("app").GetString());
        }
    }

    [Fact]
    public async Task Events_that_queue_up_go_out_in_bulk_with_every_field_and_the_id_fixed_at_enqueue()
    {
        var ct = TestContext.Current.CancellationToken;

        // Events stored before the drain starts (as after a restart) go out as bulk publishes (up to MaxBatch per call),
        // through the real sidecar, as the CloudEvents they were stored as.
        var folder = Path.Combine(Path.GetTempPath(), "daprllm-gateway-outbox-" + Guid.NewGuid().ToString("N"));
        var options = new OutboxOptions { MaxBatch = 50, Publishers = 1, BatchDelayMs = 0 };
        try
        {
            using var outbox = new DurableOutbox(Path.Combine(folder, "gateway-test.outbox.db"), AppIds.Gateway, options, TimeProvider.System, NullLogger<DurableOutbox>.Instance);
            var publisher = new AuditPublisher(outbox, Microsoft.Extensions.Options.Options.Create(new AuditOptions()));
            var marker = Guid.NewGuid().ToString("N")[..12];
            for (var i = 0; i < 120; i++)
            {
                publisher.Enqueue(new RequestCompletedV1($"req-bulk-{marker}-{i:D3}", "daprllm-demo", "completed", "stop", 3, 4, "allow", "allow", null,
                    DateTimeOffset.UnixEpoch, "tenant-bulk", "eu", "key-bulk", Cache: "miss", Route: "inference-eu", ErrorCode: null));
            }

            Assert.Equal(120, publisher.Backlog);
            await outbox.FlushAsync();
            var ids = outbox.Read(0, 200).Select(m => m.Id).ToList();
            using var drain = new OutboxDrain(outbox, new DaprOutboxSink(gateway.Node.Services.GetRequiredService<Dapr.Client.DaprClient>(), DaprComponents.PubSub),
                options, TimeProvider.System, NullLogger<OutboxDrain>.Instance);
            await drain.StartAsync(ct);
            try
            {
                foreach (var i in new[] { 0, 49, 50, 119 })
                {
                    var e = await AuditStreams.WaitForAsync(gateway.Environment.Redis, Topics.RequestCompleted, $"req-bulk-{marker}-{i:D3}");
                    Assert.Equal("tenant-bulk", e.GetProperty("tenantId").GetString());
                    Assert.Equal("inference-eu", e.GetProperty("route").GetString());
                    Assert.Equal(4, e.GetProperty("completionTokens").GetInt32());
                    var envelope = await AuditStreams.EnvelopeAsync(gateway.Environment.Redis, Topics.RequestCompleted, $"req-bulk-{marker}-{i:D3}");
                    Assert.Equal(ids[i], envelope.GetProperty("id").GetString());
                    Assert.Equal(AppIds.Gateway, envelope.GetProperty("source").GetString());
                    Assert.Equal(Topics.RequestCompleted, envelope.GetProperty("topic").GetString());
                    Assert.Equal(DaprComponents.PubSub, envelope.GetProperty("pubsubname").GetString());
                }

                await Deadline.WaitUntilAsync(() => publisher.Backlog == 0, TimeSpan.FromSeconds(20), "the published rows to be deleted");
            }
            finally
            {
                await drain.StopAsync(ct);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}
