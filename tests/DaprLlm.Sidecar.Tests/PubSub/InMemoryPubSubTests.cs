using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.Tests.PubSub;

/// <summary>pubsub.in-memory: topics live in one sidecar, so the subscriber's sidecar is also the publisher's.</summary>
public sealed class InMemoryPubSubTests : PubSubConformanceTests
{
    protected override bool SeparatePublisher => false;

    protected override string ComponentYaml(PubSubRig rig, int concurrency) => $"""
        apiVersion: dapr.io/v1alpha1
        kind: Component
        metadata:
          name: {PubSub}
        spec:
          type: pubsub.in-memory
          version: v1
          metadata:
          - name: redeliverInterval
            value: 300ms
          - name: concurrency
            value: "{concurrency}"
          - name: backOffMaxRetries
            value: "2"
          - name: backOffInitialInterval
            value: 50ms
          - name: backOffMaxInterval
            value: 200ms
        """;

    protected override Task<long?> PendingAsync(PubSubRig rig, string topic) => Task.FromResult<long?>(null);

    [Fact]
    public async Task Warns_at_subscribe_time_that_bulkSubscribe_is_not_supported()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher, (app, r) => r.Map(app, "/bulk-in"), [], r =>
        {
            topic = r.Topic("bulk-sub");
            r.WriteResource("bulk.yaml", $"""
                apiVersion: dapr.io/v2alpha1
                kind: Subscription
                metadata:
                  name: bulk-sub
                spec:
                  pubsubname: {PubSub}
                  topic: {topic}
                  routes:
                    default: /bulk-in
                  bulkSubscribe:
                    enabled: true
                    maxMessagesCount: 10
                """);
        });

        await rig.WaitSubscribedAsync(topic);

        Assert.Contains($"Subscription to topic {topic} on pubsub {PubSub} enables bulkSubscribe", rig.Subscriber.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bulk_publish_over_http_decodes_base64_binary_events_and_refuses_events_that_do_not_fit_their_contentType()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher,
            (app, r) => r.Map(app, "/bulk").WithTopic(PubSub, topic = r.Topic("bulk")), [], null);
        await rig.WaitSubscribedAsync(topic);

        // JSON cannot carry bytes, so daprd's ConvertEventToBytes takes a binary entry's event as base64.
        using var binary = await BulkPublishAsync(rig, topic, new JsonObject
        {
            ["entryId"] = "bin", ["event"] = Convert.ToBase64String([0x00, 0xFF, 0x10]), ["contentType"] = "application/octet-stream",
        });
        Assert.Equal(HttpStatusCode.NoContent, binary.StatusCode);
        await rig.WaitForAsync(() => !rig.Deliveries.IsEmpty, "the binary entry");
        var delivered = rig.Deliveries.Single().Envelope;
        Assert.Equal("application/octet-stream", delivered["datacontenttype"]!.GetValue<string>());
        Assert.Equal([0x00, 0xFF, 0x10], Convert.FromBase64String(delivered["data_base64"]!.GetValue<string>()));

        JsonObject[] misfits =
        [
            new() { ["entryId"] = "obj", ["event"] = new JsonObject { ["n"] = 1 }, ["contentType"] = "text/plain" },
            new() { ["entryId"] = "obj", ["event"] = new JsonObject { ["n"] = 1 }, ["contentType"] = "application/octet-stream" },
            new() { ["entryId"] = "b64", ["event"] = "not base64!", ["contentType"] = "application/octet-stream" },
            new() { ["entryId"] = "none", ["event"] = new JsonObject { ["n"] = 1 } },
        ];
        foreach (var misfit in misfits)
        {
            using var refused = await BulkPublishAsync(rig, topic, misfit);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("ERR_PUBSUB_EVENTS_SER", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
    }

    private static async Task<HttpResponseMessage> BulkPublishAsync(PubSubRig rig, string topic, JsonObject entry)
    {
        using var content = new StringContent(new JsonArray(entry).ToJsonString(), Encoding.UTF8, "application/json");
        return await rig.Http.PostAsync($"{rig.Publisher.HttpEndpoint}/v1.0-alpha1/publish/bulk/{PubSub}/{topic}", content, Ct);
    }
}
