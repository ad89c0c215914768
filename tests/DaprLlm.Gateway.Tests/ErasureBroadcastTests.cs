using System.Net;
using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>
/// One subject.erased, published once on the ordinary bus (as the audit app does), purges the subject's cache entries
/// on every gateway replica: the gateway subscribes through the broadcast component (a consumer group per sidecar).
/// </summary>
public sealed class ErasureBroadcastTests(TwoGateways gateways) : IClassFixture<TwoGateways>
{
    private const string Question = "Which river flows through Vienna?";

    [Fact]
    public async Task One_erasure_event_purges_the_subjects_entries_on_every_replica()
    {
        var ct = TestContext.Current.CancellationToken;
        var (tenantId, key) = await gateways.CreateTenantAsync(ct: ct);
        using var first = gateways.Node.Client(key);
        using var second = gateways.Second.Client(key);
        foreach (var client in new[] { first, second })
        {
            // Each replica caches alice's answer in its own memory.
            Assert.Equal("miss", await CacheAsync(client, Question, "alice", ct));
            Assert.Equal("hit", await CacheAsync(client, Question, "alice", ct));
            Assert.Equal("miss", await CacheAsync(client, Question + " Answer briefly.", "bob", ct));
        }

        var dapr = gateways.Node.Services.GetRequiredService<DaprClient>();
        await dapr.PublishEventAsync(DaprComponents.PubSub, Topics.SubjectErased,
            new SubjectErasedV1(tenantId, "alice", "subj-alice", "eu", DateTimeOffset.UtcNow, "test"), ct);

        // Both replicas log the purge of alice's entry (the purge count is in the log line), and then miss her question.
        foreach (var node in new[] { gateways.Node, gateways.Second })
        {
            await Deadline.WaitUntilAsync(() => node.Logs.ToString().Contains($"Subject erasure for tenant {tenantId}: 1 cache entries dropped", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), $"replica on port {node.Port} to purge alice's entry");
        }

        foreach (var client in new[] { first, second })
        {
            Assert.Equal("miss", await CacheAsync(client, Question, "carol", ct));
            Assert.Equal("hit", await CacheAsync(client, Question + " Answer briefly.", "bob", ct));
        }
    }

    private static async Task<string> CacheAsync(HttpClient client, string content, string user, CancellationToken ct)
    {
        using var response = await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "daprllm-demo", messages = new[] { new { role = "user", content } }, temperature = 0, user }, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Assert.Single(response.Headers.GetValues("x-daprllm-cache"));
    }
}
