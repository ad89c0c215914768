using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Dapr;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.PubSub;

/// <summary>
/// Pub/sub behaviour every broker must show, with the unchanged Dapr SDK on both sides: a Dapr.AspNetCore
/// subscriber app behind its own sidecar, a DaprClient (gRPC) and plain HTTP publisher.
/// </summary>
public abstract class PubSubConformanceTests
{
    protected const string PubSub = "pubsub";

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Whether publisher and subscriber use separate sidecars (only a shared broker allows that).</summary>
    protected abstract bool SeparatePublisher { get; }

    /// <summary>The component YAML named <see cref="PubSub"/>, tuned for fast redelivery in tests.</summary>
    protected abstract string ComponentYaml(PubSubRig rig, int concurrency);

    /// <summary>Entries still unacknowledged by the subscriber's group, where the broker can tell.</summary>
    protected abstract Task<long?> PendingAsync(PubSubRig rig, string topic);

    [Fact]
    public async Task Delivers_events_published_over_grpc_and_http_with_daprd_cloud_event_fields()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher,
            (app, r) => r.Map(app, "/orders").WithTopic(PubSub, topic = r.Topic("orders")), [], null);
        await rig.WaitSubscribedAsync(topic);

        await rig.Client.PublishEventAsync(PubSub, topic, new { n = 1 }, Ct);
        await rig.PublishHttpAsync(PubSub, topic, """{"n":2}""");
        await rig.PublishHttpAsync(PubSub, topic, "plain text", "text/plain", "?metadata.ttlInSeconds=600");
        await rig.PublishHttpAsync(PubSub, topic, "bytes", "application/octet-stream");
        await rig.PublishHttpAsync(PubSub, topic, """{"specversion":"1.0","id":"my-id","source":"elsewhere","type":"my.type","datacontenttype":"application/json","data":{"n":4}}""",
            "application/cloudevents+json");
        await rig.WaitForAsync(() => rig.Deliveries.Count >= 5, "five deliveries");

        var grpc = rig.Deliveries.Single(d => d.N == 1);
        Assert.Equal(SeparatePublisher ? rig.PublisherAppId : rig.SubscriberAppId, grpc.Envelope["source"]!.GetValue<string>());
        Assert.Equal("com.dapr.event.sent", grpc.Envelope["type"]!.GetValue<string>());
        Assert.Equal("1.0", grpc.Envelope["specversion"]!.GetValue<string>());
        Assert.Equal("application/json", grpc.Envelope["datacontenttype"]!.GetValue<string>());
        Assert.Equal(topic, grpc.Envelope["topic"]!.GetValue<string>());
        Assert.Equal(PubSub, grpc.Envelope["pubsubname"]!.GetValue<string>());
        Assert.True(Guid.TryParse(grpc.Id, out _), grpc.Envelope.ToJsonString());
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", grpc.Envelope["traceparent"]!.GetValue<string>());
        Assert.Equal(grpc.Envelope["traceparent"]!.GetValue<string>(), grpc.Envelope["traceid"]!.GetValue<string>());
        Assert.True(DateTimeOffset.TryParse(grpc.Envelope["time"]!.GetValue<string>(), out var time) && Math.Abs((DateTimeOffset.UtcNow - time).TotalMinutes) < 5);
        Assert.Equal(1, grpc.Envelope["data"]!["n"]!.GetValue<int>());

        var text = rig.Deliveries.Single(d => d.Envelope["datacontenttype"]?.GetValue<string>() == "text/plain");
        Assert.Equal("plain text", text.Envelope["data"]!.GetValue<string>());
        var expiration = DateTimeOffset.Parse(text.Envelope["expiration"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expiration - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(8), TimeSpan.FromMinutes(10));

        var binary = rig.Deliveries.Single(d => d.Envelope["datacontenttype"]?.GetValue<string>() == "application/octet-stream");
        Assert.Equal("bytes", Encoding.UTF8.GetString(Convert.FromBase64String(binary.Envelope["data_base64"]!.GetValue<string>())));
        Assert.Null(grpc.Envelope["expiration"]);

        var kept = rig.Deliveries.Single(d => d.Id == "my-id");
        Assert.Equal("elsewhere", kept.Envelope["source"]!.GetValue<string>());
        Assert.Equal("my.type", kept.Envelope["type"]!.GetValue<string>());
        Assert.Equal(topic, kept.Envelope["topic"]!.GetValue<string>());
        Assert.Equal(4, kept.N);
        Assert.Equal(5, rig.Deliveries.Select(d => d.Id).Distinct().Count());
    }

    [Fact]
    public async Task Wraps_every_kind_of_payload_without_losing_it_and_completes_incoming_cloud_events()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher,
            (app, r) => r.Map(app, "/shapes").WithTopic(PubSub, topic = r.Topic("shapes")), [], null);
        await rig.WaitSubscribedAsync(topic);

        async Task<HttpResponseMessage> PostAsync(byte[] body, string contentType, string query)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
            return await rig.Http.PostAsync($"{rig.Publisher.HttpEndpoint}/v1.0/publish/{PubSub}/{topic}?{query}", content, Ct);
        }

        async Task PublishAsync(string body, string contentType, string query) =>
            Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(Encoding.UTF8.GetBytes(body), contentType, query)).StatusCode);

        await PublishAsync("""{ "n" : 7, "s" : "\u00e9<é" }""", "application/json",
            "metadata.cloudevent.id=spaced&metadata.cloudevent.type=custom.type&metadata.cloudevent.myext=v");
        await PublishAsync("""{"n":""", "application/json", "metadata.cloudevent.id=broken");
        await PublishAsync("[1, 2]", "application/problem+json; charset=utf-8", "metadata.cloudevent.id=problem");
        await PublishAsync("", "application/json", "metadata.cloudevent.id=empty");
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync([0x66, 0xFF], "text/plain", "metadata.cloudevent.id=latin1")).StatusCode);
        await PublishAsync("""{"specversion":"1.0","id":null,"topic":"elsewhere","type":"t.x","ext":{"a":[1,2]},"data":{"n":9}}""",
            "application/cloudevents+json", "metadata.cloudevent.source=override-src&metadata.ttlInSeconds=600");

        // Bodies that cannot become an envelope are refused as daprd does, never delivered.
        foreach (var (body, contentType, query) in new[]
        {
            ("[1]", "application/cloudevents+json", ""),
            ("""{"id":"a","id":"b"}""", "application/cloudevents+json", ""),
            ("""{"n":1}""", "application/json", "metadata.ttlInSeconds=abc"),
            ("""{"n":1}""", "application/json", "metadata.ttlInSeconds=300000000000"),
        })
        {
            using var refused = await PostAsync(Encoding.UTF8.GetBytes(body), contentType, query);
            Assert.Equal(HttpStatusCode.InternalServerError, refused.StatusCode);
            Assert.Contains("ERR_PUBSUB_CLOUD_EVENTS_SER", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        await rig.WaitForAsync(() => rig.Deliveries.Count >= 6, "six deliveries");
        JsonObject Envelope(string id) => rig.Deliveries.Single(d => d.Id == id).Envelope;

        var spaced = Envelope("spaced");
        Assert.Equal(7, spaced["data"]!["n"]!.GetValue<int>());
        Assert.Equal("é<é", spaced["data"]!["s"]!.GetValue<string>());
        Assert.Equal("custom.type", spaced["type"]!.GetValue<string>());
        Assert.Equal("v", spaced["myext"]!.GetValue<string>());
        Assert.Equal("application/json", spaced["datacontenttype"]!.GetValue<string>());

        Assert.Equal("""{"n":""", Envelope("broken")["data"]!.GetValue<string>());
        var problem = Envelope("problem");
        Assert.Equal("[1,2]", problem["data"]!.ToJsonString());
        Assert.Equal("application/problem+json; charset=utf-8", problem["datacontenttype"]!.GetValue<string>());
        var empty = Envelope("empty");
        Assert.True(empty.ContainsKey("data") && empty["data"] is null, empty.ToJsonString());
        var latin1 = Envelope("latin1");
        Assert.Equal(Convert.ToBase64String([0x66, 0xFF]), latin1["data_base64"]!.GetValue<string>());
        Assert.False(latin1.ContainsKey("data"));

        var completed = rig.Deliveries.Single(d => d.Envelope["ext"] is not null).Envelope;
        Assert.True(Guid.TryParse(completed["id"]!.GetValue<string>(), out _), completed.ToJsonString());
        Assert.Equal(topic, completed["topic"]!.GetValue<string>());
        Assert.Equal(PubSub, completed["pubsubname"]!.GetValue<string>());
        Assert.Equal("override-src", completed["source"]!.GetValue<string>());
        Assert.Equal("t.x", completed["type"]!.GetValue<string>());
        Assert.Equal("application/json", completed["datacontenttype"]!.GetValue<string>());
        Assert.Equal("""{"a":[1,2]}""", completed["ext"]!.ToJsonString());
        Assert.Equal(9, completed["data"]!["n"]!.GetValue<int>());
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", completed["traceparent"]!.GetValue<string>());
        Assert.NotNull(completed["expiration"]);
        Assert.Equal(6, rig.Deliveries.Count);
    }

    [Fact]
    public async Task Routes_events_to_the_path_of_the_first_matching_rule()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher, (app, r) =>
        {
            topic = r.Topic("routed");
            r.Map(app, "/widgets").WithTopic(new TopicOptions { PubsubName = PubSub, Name = topic, Match = "event.type == \"widget\" && event.source != \"nobody\"", Priority = 1 });
            r.Map(app, "/gadgets").WithTopic(new TopicOptions { PubsubName = PubSub, Name = topic, Match = "event.type == \"gadget\" || event.type == \"gizmo\"", Priority = 2 });
            r.Map(app, "/others").WithTopic(PubSub, topic);
        }, [], null);
        await rig.WaitSubscribedAsync(topic);

        foreach (var (type, n) in new[] { ("widget", 1), ("gadget", 2), ("gizmo", 3), ("thing", 4) })
        {
            await rig.Client.PublishEventAsync(PubSub, topic, new { n }, new Dictionary<string, string> { ["cloudevent.type"] = type }, Ct);
        }

        await rig.WaitForAsync(() => rig.Deliveries.Count >= 4, "four routed deliveries");
        Assert.Equal([1], rig.To("/widgets").Select(d => d.N));
        Assert.Equal([2, 3], rig.To("/gadgets").Select(d => d.N!.Value).Order());
        Assert.Equal([4], rig.To("/others").Select(d => d.N));
    }

    [Fact]
    public async Task Retries_an_event_answered_with_RETRY_and_then_500_until_the_app_succeeds()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher,
            (app, r) => r.Map(app, "/flaky").WithTopic(PubSub, topic = r.Topic("flaky")), [], null);
        rig.Respond = d => Task.FromResult(d.Attempt switch
        {
            1 => Results.Json(new { status = "RETRY" }),
            2 => Results.StatusCode(500),
            _ => Results.Json(new { status = "SUCCESS" }),
        });
        await rig.WaitSubscribedAsync(topic);

        await rig.Client.PublishEventAsync(PubSub, topic, new { n = 7 }, Ct);

        await rig.WaitForAsync(() => rig.Deliveries.Any(d => d.Attempt == 3), "the third attempt");
        await WaitNothingPendingAsync(rig, topic);
        Assert.Equal([1, 2, 3], rig.Deliveries.Select(d => d.Attempt));
        Assert.All(rig.Deliveries, d => Assert.Equal(7, d.N));
    }

    [Fact]
    public async Task Retries_an_event_whose_delivery_outlasts_the_inbound_resiliency_timeout()
    {
        string topic = "";
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher,
            (app, r) => r.Map(app, "/slow").WithTopic(PubSub, topic = r.Topic("slow")), [], r => r.WriteResource("resiliency.yaml", $"""
                apiVersion: dapr.io/v1alpha1
                kind: Resiliency
                metadata:
                  name: inbound-timeout
                spec:
                  policies:
                    timeouts:
                      quick: 1s
                    retries:
                      again:
                        policy: constant
                        duration: 100ms
                        maxRetries: 3
                  targets:
                    components:
                      {PubSub}:
                        inbound:
                          timeout: quick
                          retry: again
                """));
        try
        {
            // The first attempt never answers in time; the sidecar must give up on it and try again.
            rig.Respond = async d =>
            {
                if (d.Attempt == 1)
                {
                    await release.Task;
                }

                return Results.Ok();
            };
            await rig.WaitSubscribedAsync(topic);

            await rig.Client.PublishEventAsync(PubSub, topic, new { n = 21 }, Ct);

            await rig.WaitForAsync(() => rig.Deliveries.Any(d => d.Attempt == 2), "a second attempt after the timeout");
            await WaitNothingPendingAsync(rig, topic);
            Assert.False(release.Task.IsCompleted);
            Assert.All(rig.Deliveries, d => Assert.Equal(21, d.N));
            Assert.Single(rig.Deliveries.Select(d => d.Id).Distinct());
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Fact]
    public async Task Drops_an_event_answered_with_DROP_without_redelivering_it()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 1), SeparatePublisher,
            (app, r) => r.Map(app, "/drop").WithTopic(PubSub, topic = r.Topic("drop")), [], null);
        rig.Respond = d => Task.FromResult(d.N == 1 ? Results.Json(new { status = "DROP" }) : Results.Ok());
        await rig.WaitSubscribedAsync(topic);

        await rig.Client.PublishEventAsync(PubSub, topic, new { n = 1 }, Ct);
        await rig.WaitForAsync(() => rig.Deliveries.Any(d => d.N == 1), "the dropped event");
        // One delivery at a time (concurrency 1): a retry of event 1 would come before event 2.
        await rig.Client.PublishEventAsync(PubSub, topic, new { n = 2 }, Ct);
        await rig.WaitForAsync(() => rig.Deliveries.Any(d => d.N == 2), "the next event");
        await WaitNothingPendingAsync(rig, topic);

        Assert.Single(rig.Deliveries, d => d.N == 1);
        Assert.Contains("DROP status returned from app", rig.Subscriber.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sends_an_event_to_the_dead_letter_topic_after_the_configured_attempts()
    {
        string topic = "", deadLetter = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher, (app, r) =>
        {
            topic = r.Topic("poison");
            deadLetter = r.Topic("poison-dlq");
            r.Map(app, "/poison").WithTopic(new TopicOptions { PubsubName = PubSub, Name = topic, DeadLetterTopic = deadLetter });
            r.Map(app, "/dlq").WithTopic(PubSub, deadLetter);
        }, [], null);
        rig.Respond = d => Task.FromResult(d.Path == "/poison" ? Results.StatusCode(500) : Results.Ok());
        await rig.WaitSubscribedAsync(topic);
        await rig.WaitSubscribedAsync(deadLetter);

        await rig.Client.PublishEventAsync(PubSub, topic, new { n = 13 }, Ct);

        await rig.WaitForAsync(() => rig.To("/dlq").Count == 1, "the dead-lettered event");
        await WaitNothingPendingAsync(rig, topic);
        // backOffMaxRetries: 2 in the component: one attempt and two retries.
        Assert.Equal(3, rig.To("/poison").Count);
        var dead = rig.To("/dlq").Single();
        Assert.Equal(13, dead.N);
        Assert.Equal(rig.To("/poison")[0].Id, dead.Id);
    }

    [Fact]
    public async Task Redelivers_events_published_while_the_subscriber_app_was_down()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher,
            (app, r) => r.Map(app, "/orders").WithTopic(PubSub, topic = r.Topic("orders")), [], null);
        await rig.WaitSubscribedAsync(topic);
        await rig.Client.PublishEventAsync(PubSub, topic, new { n = 0 }, Ct);
        await rig.WaitForAsync(() => rig.Deliveries.Any(d => d.N == 0), "the first event");

        await rig.App.StopAsync();
        var published = Enumerable.Range(1, 10).ToList();
        foreach (var n in published)
        {
            await rig.Client.PublishEventAsync(PubSub, topic, new { n }, Ct);
        }

        await rig.WaitForAsync(() => rig.Subscriber.Output.Contains("not processed", StringComparison.Ordinal), "a failed delivery while the app is down");
        await rig.App.StartAsync();

        await rig.WaitForAsync(() => published.All(n => rig.Deliveries.Any(d => d.N == n)), "every event after the app restarted");
        await WaitNothingPendingAsync(rig, topic);
        Assert.Equal([0, .. published], rig.Deliveries.Select(d => d.N!.Value).Distinct().Order());
    }

    [Fact]
    public async Task Delivers_through_declarative_v1alpha1_and_v2alpha1_subscriptions_scoped_to_the_app()
    {
        string v1 = "", v2 = "", other = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher, (app, r) =>
        {
            r.Map(app, "/v1-orders");
            r.Map(app, "/v2-big");
            r.Map(app, "/v2-default");
            r.Map(app, "/not-mine");
        }, [], r =>
        {
            v1 = r.Topic("decl-v1");
            v2 = r.Topic("decl-v2");
            other = r.Topic("decl-other");
            r.WriteResource("subscriptions.yaml", $"""
                apiVersion: dapr.io/v1alpha1
                kind: Subscription
                metadata:
                  name: v1-sub
                spec:
                  pubsubname: {PubSub}
                  topic: {v1}
                  route: /v1-orders
                scopes:
                - {r.SubscriberAppId}
                ---
                apiVersion: dapr.io/v2alpha1
                kind: Subscription
                metadata:
                  name: v2-sub
                spec:
                  pubsubname: {PubSub}
                  topic: {v2}
                  routes:
                    rules:
                    - match: event.data.size == "big"
                      path: /v2-big
                    default: /v2-default
                scopes:
                - {r.SubscriberAppId}
                ---
                apiVersion: dapr.io/v2alpha1
                kind: Subscription
                metadata:
                  name: other-app-sub
                spec:
                  pubsubname: {PubSub}
                  topic: {other}
                  routes:
                    default: /not-mine
                scopes:
                - someone-else
                """);
        });
        await rig.WaitSubscribedAsync(v1);
        await rig.WaitSubscribedAsync(v2);

        await rig.Client.PublishEventAsync(PubSub, v1, new { n = 1 }, Ct);
        await rig.Client.PublishEventAsync(PubSub, v2, new { n = 2, size = "big" }, Ct);
        await rig.Client.PublishEventAsync(PubSub, v2, new { n = 3, size = "small" }, Ct);
        await rig.Client.PublishEventAsync(PubSub, other, new { n = 4 }, Ct);

        await rig.WaitForAsync(() => rig.Deliveries.Count >= 3, "three declarative deliveries");
        Assert.Equal([1], rig.To("/v1-orders").Select(d => d.N));
        Assert.Equal([2], rig.To("/v2-big").Select(d => d.N));
        Assert.Equal([3], rig.To("/v2-default").Select(d => d.N));
        Assert.DoesNotContain($"Subscribed to topic {other} ", rig.Subscriber.Output, StringComparison.Ordinal);

        // GET /v1.0/metadata lists the subscriptions in effect, as daprd does.
        var metadata = JsonNode.Parse(await rig.Http.GetStringAsync($"{rig.Subscriber.HttpEndpoint}/v1.0/metadata", Ct))!;
        var listed = metadata["subscriptions"]!.AsArray().Select(x => x!.AsObject()).ToDictionary(x => x["topic"]!.GetValue<string>());
        Assert.False(listed.ContainsKey(other));
        Assert.Equal("DECLARATIVE", listed[v1]["type"]!.GetValue<string>());
        Assert.Equal(PubSub, listed[v1]["pubsubname"]!.GetValue<string>());
        Assert.Equal("/v1-orders", listed[v1]["rules"]![0]!["path"]!.GetValue<string>());
        Assert.Equal(["/v2-big", "/v2-default"], listed[v2]["rules"]!.AsArray().Select(r => r!["path"]!.GetValue<string>()));
        Assert.Equal("event.data.size == \"big\"", listed[v2]["rules"]![0]!["match"]!.GetValue<string>());
    }

    [Fact]
    public async Task Delivers_every_entry_of_a_bulk_publish_over_grpc_and_http()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher,
            (app, r) => r.Map(app, "/bulk").WithTopic(PubSub, topic = r.Topic("bulk")), [], null);
        await rig.WaitSubscribedAsync(topic);

        var grpcResult = await rig.Client.BulkPublishEventAsync(PubSub, topic, Enumerable.Range(1, 5).Select(n => new { n }).ToList(), cancellationToken: Ct);
        Assert.Empty(grpcResult.FailedEntries);
        var entries = new JsonArray(Enumerable.Range(6, 5).Select(n => (JsonNode)new JsonObject
        {
            ["entryId"] = $"e{n}",
            ["event"] = new JsonObject { ["n"] = n },
            ["contentType"] = "application/json",
        }).ToArray());
        entries.Add(new JsonObject { ["entryId"] = "text", ["event"] = "plain words", ["contentType"] = "text/plain" });
        using var content = new StringContent(entries.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await rig.Http.PostAsync($"{rig.Publisher.HttpEndpoint}/v1.0-alpha1/publish/bulk/{PubSub}/{topic}", content, Ct);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        using var numericId = new StringContent("""[{"entryId":5,"event":{"n":99}}]""", Encoding.UTF8, "application/json");
        using var refused = await rig.Http.PostAsync($"{rig.Publisher.HttpEndpoint}/v1.0-alpha1/publish/bulk/{PubSub}/{topic}", numericId, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("ERR_PUBSUB_EVENTS_SER", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        await rig.WaitForAsync(() => rig.Deliveries.Select(d => d.N).Distinct().Count() >= 11, "ten bulk entries and the text one");
        Assert.Equal(Enumerable.Range(1, 10), rig.Deliveries.Where(d => d.N is not null).Select(d => d.N!.Value).Distinct().Order());
        var text = rig.Deliveries.Single(d => d.N is null).Envelope;
        Assert.Equal("plain words", text["data"]!.GetValue<string>());
        Assert.Equal("text/plain", text["datacontenttype"]!.GetValue<string>());
    }

    [Fact]
    public async Task Delivers_a_raw_payload_to_a_raw_subscription_wrapped_as_daprd_does()
    {
        string topic = "";
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10), SeparatePublisher,
            (app, r) => r.Map(app, "/raw").WithTopic(new TopicOptions { PubsubName = PubSub, Name = topic = r.Topic("raw"), EnableRawPayload = true }), [], null);
        await rig.WaitSubscribedAsync(topic);

        await rig.PublishHttpAsync(PubSub, topic, """{"n":5,"raw":true}""", query: "?metadata.rawPayload=true");

        await rig.WaitForAsync(() => rig.Deliveries.Count >= 1, "the raw event");
        var delivery = rig.Deliveries.Single();
        Assert.Equal("""{"n":5,"raw":true}""", Encoding.UTF8.GetString(Convert.FromBase64String(delivery.Envelope["data_base64"]!.GetValue<string>())));
        Assert.Equal("application/octet-stream", delivery.Envelope["datacontenttype"]!.GetValue<string>());
        Assert.Equal(topic, delivery.Envelope["topic"]!.GetValue<string>());
        Assert.Equal(5, delivery.N);
    }

    [Fact]
    public async Task Rejects_publishing_to_an_unknown_pubsub_or_a_forbidden_topic_as_daprd_does()
    {
        await using var rig = await PubSubRig.StartAsync(r => ComponentYaml(r, 10) + $"""

            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: scoped
            spec:
              type: pubsub.in-memory
              version: v1
              metadata:
              - name: publishingScopes
                value: "{(SeparatePublisher ? r.PublisherAppId : r.SubscriberAppId)}=allowed"
            """, SeparatePublisher, (app, r) => { }, [], null);

        using var unknown = await rig.Http.PostAsync($"{rig.Publisher.HttpEndpoint}/v1.0/publish/nope/t", new StringContent("{}"), Ct);
        using var forbidden = await rig.Http.PostAsync($"{rig.Publisher.HttpEndpoint}/v1.0/publish/scoped/denied", new StringContent("{}"), Ct);
        using var allowed = await rig.Http.PostAsync($"{rig.Publisher.HttpEndpoint}/v1.0/publish/scoped/allowed", new StringContent("{}"), Ct);
        using var noName = await rig.Http.PostAsync($"{rig.Publisher.HttpEndpoint}/v1.0/publish//t", new StringContent("{}"), Ct);
        using var noTopic = await rig.Http.PostAsync($"{rig.Publisher.HttpEndpoint}/v1.0/publish/{PubSub}", new StringContent("{}"), Ct);
        var grpc = await Assert.ThrowsAsync<DaprException>(() => rig.Client.PublishEventAsync("nope", "t", new { n = 1 }, Ct));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("ERR_PUBSUB_NOT_FOUND", await unknown.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("ERR_PUBSUB_FORBIDDEN", await forbidden.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, noName.StatusCode);
        Assert.Contains("ERR_PUBSUB_EMPTY", await noName.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, noTopic.StatusCode);
        Assert.Contains("ERR_TOPIC_NAME_EMPTY", await noTopic.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, Assert.IsType<Grpc.Core.RpcException>(grpc.InnerException).StatusCode);
    }

    protected async Task WaitNothingPendingAsync(PubSubRig rig, string topic) =>
        await Deadline.WaitUntilAsync(async () => await PendingAsync(rig, topic) is null or 0, TimeSpan.FromSeconds(30), $"no pending entries on {topic}");
}
