using DaprLlm.Sidecar.Tests.Infrastructure;
using StackExchange.Redis;

namespace DaprLlm.Sidecar.Tests.PubSub;

/// <summary>pubsub.redis (Redis Streams) against a real redis-server, publisher and subscriber on separate sidecars.</summary>
public sealed class RedisPubSubTests(RedisServer redis) : PubSubConformanceTests, IClassFixture<RedisServer>
{
    protected override bool SeparatePublisher => true;

    protected override string ComponentYaml(PubSubRig rig, int concurrency) => $"""
        apiVersion: dapr.io/v1alpha1
        kind: Component
        metadata:
          name: {PubSub}
        spec:
          type: pubsub.redis
          version: v1
          metadata:
          - name: redisHost
            value: {redis.Address}
          - name: processingTimeout
            value: 2s
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

    protected override async Task<long?> PendingAsync(PubSubRig rig, string topic)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var pending = await connection.GetDatabase().StreamPendingAsync(topic, rig.SubscriberAppId);
        return pending.PendingMessageCount;
    }

    [Fact]
    public async Task Redelivers_pending_and_in_flight_events_after_the_subscriber_sidecar_is_killed()
    {
        string topic = "";
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher,
            (app, r) => r.Map(app, "/orders").WithTopic(PubSub, topic = r.Topic("orders")), [], null);
        rig.Respond = async d =>
        {
            if (d.N == 5 && d.Attempt == 1)
            {
                entered.TrySetResult();
                await release.Task;
            }

            return Results.Ok();
        };
        await rig.WaitSubscribedAsync(topic);
        for (var n = 0; n < 5; n++)
        {
            await rig.Client.PublishEventAsync(PubSub, topic, new { n }, Ct);
        }

        await rig.WaitForAsync(() => rig.Deliveries.Count >= 5, "the first five events");
        await rig.Client.PublishEventAsync(PubSub, topic, new { n = 5 }, Ct);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        // Event 5 is in flight in the app when its sidecar dies; 6..9 are published while it is down.
        await rig.Subscriber.KillAsync();
        for (var n = 6; n < 10; n++)
        {
            await rig.Client.PublishEventAsync(PubSub, topic, new { n }, Ct);
        }

        release.SetResult();
        await rig.Subscriber.RestartAsync(PubSubRig.StartTimeout);

        await rig.WaitForAsync(() => Enumerable.Range(0, 10).All(n => rig.Deliveries.Any(d => d.N == n)), "all ten events");
        await rig.WaitForAsync(() => rig.Deliveries.Count(d => d.N == 5) >= 2, "the in-flight event to be redelivered");
        await WaitNothingPendingAsync(rig, topic);
        Assert.Equal(Enumerable.Range(0, 10), rig.Deliveries.Select(d => d.N!.Value).Distinct().Order());
    }

    [Fact]
    public async Task Acknowledges_every_event_of_a_concurrent_burst_exactly_once()
    {
        // Many deliveries finish together and their XACKs share one connection: none may be lost (the entry would be
        // redelivered after processingTimeout).
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 32), SeparatePublisher,
            (app, r) => r.Map(app, "/orders").WithTopic(PubSub, topic = r.Topic("orders")), [], null);
        await rig.WaitSubscribedAsync(topic);
        const int count = 400;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < count)
            {
                await rig.Client.PublishEventAsync(PubSub, topic, new { n }, Ct);
            }
        })));

        await rig.WaitForAsync(() => rig.Deliveries.Count >= count, "every event of the burst");

        // Nothing pending means every entry was acknowledged; a lost ack would only clear after a redelivery
        // (processingTimeout 2s), which would show up as a duplicate here.
        await WaitNothingPendingAsync(rig, topic);
        Assert.Equal(count, rig.Deliveries.Count);
        Assert.Equal(Enumerable.Range(0, count), rig.Deliveries.Select(d => d.N!.Value).Order());
    }

    [Fact]
    public async Task Keeps_events_published_before_the_subscriber_started_and_trims_streams_with_maxLenApprox()
    {
        var topic = $"early-{Guid.NewGuid():N}";
        using var folder = new TempFolder();
        folder.Write("resources/pubsub.yaml", ComponentYaml(null!, 10) + """

              - name: maxLenApprox
                value: "100"
            """);
        await using var publisher = await SidecarProcess.StartAsync(new SidecarSettings("early-publisher", Path.Combine(folder.Path, "resources"), folder.Sub("registry")));
        using var http = new HttpClient();
        for (var n = 0; n < 300; n++)
        {
            using var response = await http.PostAsync($"{publisher.HttpEndpoint}/v1.0/publish/{PubSub}/{topic}", new StringContent($$"""{"n":{{n}}}""", System.Text.Encoding.UTF8, "application/json"), Ct);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
        }

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var length = await connection.GetDatabase().StreamLengthAsync(topic);
        Assert.InRange(length, 100, 299);
    }

    [Fact]
    public async Task Drops_an_event_whose_ttl_expired_before_it_could_be_delivered()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher,
            (app, r) => r.Map(app, "/ttl").WithTopic(PubSub, topic = r.Topic("ttl")), [], null);
        await rig.WaitSubscribedAsync(topic);
        await rig.App.StopAsync();

        await rig.PublishHttpAsync(PubSub, topic, """{"n":1}""", query: "?metadata.ttlInSeconds=1");

        // Delivery fails while the app is down; once the ttl has passed, the next (re)delivery drops the event.
        await rig.WaitForAsync(() => rig.Subscriber.Output.Contains("Dropping expired pub/sub event", StringComparison.Ordinal), "the expired event to be dropped");
        await rig.App.StartAsync();
        await rig.Client.PublishEventAsync(PubSub, topic, new { n = 2 }, Ct);

        await rig.WaitForAsync(() => rig.Deliveries.Any(d => d.N == 2), "the fresh event");
        await WaitNothingPendingAsync(rig, topic);
        Assert.DoesNotContain(rig.Deliveries, d => d.N == 1);
    }
}
