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

    /// <summary>A pubsub.redis component as a user writes it: given redelivery settings and consumer group, no retries.</summary>
    private string RedeliveryYaml(string processingTimeout, string redeliverInterval, string consumerId) => $"""
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
          - name: consumerID
            value: {consumerId}
          - name: processingTimeout
            value: "{processingTimeout}"
          - name: redeliverInterval
            value: "{redeliverInterval}"
          - name: backOffMaxRetries
            value: "0"
        """;

    /// <summary>A stream entry as a publishing sidecar writes it: a CloudEvent carrying {"n": n}, plus any other fields.</summary>
    private static NameValueEntry[] CloudEventEntry(string topic, int n, params NameValueEntry[] more) =>
    [
        new("data", PubSubRig.Json(new
        {
            specversion = "1.0", id = $"entry-{n}", source = "test", type = "com.dapr.event.sent", datacontenttype = "application/json",
            topic, pubsubname = PubSub, data = new { n },
        })),
        .. more,
    ];

    [Fact]
    public async Task Reads_bare_numbers_in_processingTimeout_and_redeliverInterval_as_milliseconds()
    {
        var topic = $"ms-{Guid.NewGuid():N}";
        await using var rig = await PubSubRig.StartAsync(_ => RedeliveryYaml("100", "200", $"group-{Guid.NewGuid():N}"), false,
            (app, r) => r.Map(app, "/ms").WithTopic(PubSub, topic), [topic]);
        rig.Respond = d => Task.FromResult(d.Attempt == 1 ? Results.StatusCode(500) : Results.Ok());

        await rig.Client.PublishEventAsync(PubSub, topic, new { n = 1 }, Ct);

        // 100 ms and 200 ms as contrib reads them; read as seconds, the failed first attempt would come back after 100 s.
        await rig.WaitForAsync(() => rig.Deliveries.Count(d => d.N == 1) >= 2, "the failed event to be redelivered");
    }

    [Fact]
    public async Task Redelivers_a_failed_event_after_the_default_redeliverInterval_of_15_seconds()
    {
        var topic = $"default-{Guid.NewGuid():N}";
        await using var rig = await PubSubRig.StartAsync(_ => RedeliveryYaml("1ms", "", $"group-{Guid.NewGuid():N}"), false,
            (app, r) => r.Map(app, "/default").WithTopic(PubSub, topic), [topic]);
        rig.Respond = d => Task.FromResult(d.Attempt == 1 ? Results.StatusCode(500) : Results.Ok());

        await rig.Client.PublishEventAsync(PubSub, topic, new { n = 1 }, Ct);

        // contrib's default interval is 15 s (the wait below gives up after 45 s, before a 60 s interval would come round).
        await rig.WaitForAsync(() => rig.Deliveries.Count(d => d.N == 1) >= 2, "the failed event to be redelivered");
    }

    [Fact]
    public async Task Reclaims_entries_a_dead_consumer_left_pending_right_after_subscribing()
    {
        // A consumer of the group read an entry and died before acknowledging it.
        var topic = $"left-{Guid.NewGuid():N}";
        var group = $"group-{Guid.NewGuid():N}";
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var db = connection.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(topic, group, StreamPosition.Beginning, createStream: true);
        await db.StreamAddAsync(topic, CloudEventEntry(topic, 7));
        Assert.Single(await db.StreamReadGroupAsync(topic, group, "dead-consumer", StreamPosition.NewMessages));

        // The next reclaim pass is 10 minutes away: only the pass contrib runs at subscription time delivers it now.
        await using var rig = await PubSubRig.StartAsync(_ => RedeliveryYaml("1ms", "10m", group), false,
            (app, r) => r.Map(app, "/left").WithTopic(PubSub, topic), [topic]);

        await rig.WaitForAsync(() => rig.Deliveries.Any(d => d.N == 7), "the entry left pending to be reclaimed");
        await Deadline.WaitUntilAsync(async () => (await db.StreamPendingAsync(topic, group)).PendingMessageCount == 0,
            TimeSpan.FromSeconds(30), "the reclaimed entry to be acknowledged");
    }

    [Fact]
    public async Task Delivers_an_entry_whose_metadata_field_is_not_a_map_of_strings_without_its_metadata()
    {
        var topic = $"meta-{Guid.NewGuid():N}";
        var group = $"group-{Guid.NewGuid():N}";
        await using var rig = await PubSubRig.StartAsync(_ => RedeliveryYaml("100", "200", group), false,
            (app, r) => r.Map(app, "/meta").WithTopic(PubSub, topic), [topic]);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var db = connection.GetDatabase();

        // Written by another publisher or by hand: contrib logs the metadata as unreadable and delivers the entry.
        await db.StreamAddAsync(topic, CloudEventEntry(topic, 1, new NameValueEntry("metadata", "not json")));
        await db.StreamAddAsync(topic, CloudEventEntry(topic, 2, new NameValueEntry("metadata", """{"ttlInSeconds":60}""")));

        await rig.WaitForAsync(() => rig.Deliveries.Any(d => d.N == 1) && rig.Deliveries.Any(d => d.N == 2), "both entries");
        await Deadline.WaitUntilAsync(async () => (await db.StreamPendingAsync(topic, group)).PendingMessageCount == 0,
            TimeSpan.FromSeconds(30), "both entries to be acknowledged");
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
