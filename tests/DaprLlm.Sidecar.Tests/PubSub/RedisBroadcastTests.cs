using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Tests.Infrastructure;
using StackExchange.Redis;

namespace DaprLlm.Sidecar.Tests.PubSub;

/// <summary>
/// Two instances of one app id, each with its own sidecar, subscribed to one topic: on a pubsub.redis component with
/// <c>consumerID: "{uuid}"</c> each sidecar has its own consumer group, so both receive every event (a broadcast); on
/// the default component they share the app id's group and each event reaches one of them.
/// </summary>
public sealed class RedisBroadcastTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string AppId = "replicated";
    private const int Count = 20;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_instance_receives_every_event_on_a_uuid_consumer_id_component()
    {
        var topic = $"broadcast-{Guid.NewGuid():N}";
        await using var pair = await ReplicaPair.StartAsync(redis.Address, topic, ("consumerID", "{uuid}"));
        await pair.PublishAsync(topic, Count);

        await Deadline.WaitUntilAsync(() => pair.All(r => r.Received.Count >= Count), TimeSpan.FromSeconds(45), "both instances to receive every event");
        Assert.All(pair.Replicas, r => Assert.Equal(Enumerable.Range(0, Count), r.Received.Order()));

        // Two groups, neither of them the app id: each sidecar expanded {uuid} to its own GUID.
        var groups = await GroupsAsync(topic);
        Assert.Equal(2, groups.Length);
        Assert.All(groups, g => Assert.True(Guid.TryParse(g.Name, out _), g.Name));
        await Deadline.WaitUntilAsync(async () => (await GroupsAsync(topic)).All(g => g.PendingMessageCount == 0), TimeSpan.FromSeconds(30), "every delivery acknowledged");
    }

    [Fact]
    public async Task Each_event_reaches_one_instance_on_the_default_component()
    {
        var topic = $"competing-{Guid.NewGuid():N}";
        await using var pair = await ReplicaPair.StartAsync(redis.Address, topic);
        await pair.PublishAsync(topic, Count);

        await Deadline.WaitUntilAsync(() => pair.Replicas.Sum(r => r.Received.Count) >= Count, TimeSpan.FromSeconds(45), "every event to be delivered");
        // One group (the app id) with nothing pending: Redis handed each entry to one reader of the group, once.
        await Deadline.WaitUntilAsync(async () => (await GroupsAsync(topic)) is [{ PendingMessageCount: 0 }], TimeSpan.FromSeconds(30), "every delivery acknowledged");
        var group = Assert.Single(await GroupsAsync(topic));
        Assert.Equal(AppId, group.Name);
        Assert.Equal(Enumerable.Range(0, Count), pair.Replicas.SelectMany(r => r.Received).Order());
    }

    [Fact]
    public async Task Namespace_pod_name_and_app_id_tags_in_consumer_id_expand_like_daprd()
    {
        var topic = $"tags-{Guid.NewGuid():N}";
        var environment = new Dictionary<string, string> { ["NAMESPACE"] = "prod", ["POD_NAME"] = "replicated-7d9f" };
        await using var single = await ReplicaPair.StartAsync(redis.Address, topic, 1, environment, ("consumerID", "{namespace}/{podName}/{appID}"));
        await single.PublishAsync(topic, 1);

        await Deadline.WaitUntilAsync(() => single.All(r => !r.Received.IsEmpty), TimeSpan.FromSeconds(45), "the event");
        // {namespace} is "namespace.appId" in daprd, not the bare namespace.
        Assert.Equal($"prod.{AppId}/replicated-7d9f/{AppId}", Assert.Single(await GroupsAsync(topic)).Name);
    }

    [Fact]
    public async Task A_pod_name_tag_without_POD_NAME_stops_the_sidecar_at_start()
    {
        using var folder = new TempFolder("daprllm-podname");
        folder.Write("resources/pubsub.yaml", ComponentYaml.RedisPubSub(redis.Address, ("consumerID", "{podName}")));
        var settings = new SidecarSettings(AppId, Path.Combine(folder.Path, "resources"), folder.Sub("registry"))
        {
            Environment = new Dictionary<string, string> { ["POD_NAME"] = "" },
        };

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(settings, TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, exitCode);
        Assert.Contains("refers to {podName} but POD_NAME is not set", output, StringComparison.Ordinal);
    }

    private async Task<StreamGroupInfo[]> GroupsAsync(string topic)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        return await connection.GetDatabase().StreamGroupInfoAsync(topic);
    }

    /// <summary>One instance: a subscriber app recording the <c>n</c> of each event, and its own sidecar.</summary>
    private sealed record Replica(TestApp App, SidecarProcess Sidecar, ConcurrentQueue<int> Received) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Sidecar.DisposeAsync();
            await App.DisposeAsync();
        }
    }

    private sealed class ReplicaPair : IAsyncDisposable
    {
        private readonly TempFolder _folder = new("daprllm-broadcast");

        public List<Replica> Replicas { get; } = [];

        public bool All(Func<Replica, bool> condition) => Replicas.All(condition);

        public static Task<ReplicaPair> StartAsync(string redisAddress, string topic, params (string Name, string Value)[] metadata) =>
            StartAsync(redisAddress, topic, 2, new Dictionary<string, string>(), metadata);

        public static async Task<ReplicaPair> StartAsync(string redisAddress, string topic, int instances, IReadOnlyDictionary<string, string> environment, params (string Name, string Value)[] metadata)
        {
            var pair = new ReplicaPair();
            try
            {
                pair._folder.Write("resources/pubsub.yaml", ComponentYaml.RedisPubSub(redisAddress, metadata));
                for (var i = 0; i < instances; i++)
                {
                    await pair.StartReplicaAsync(i, topic, environment);
                }

                return pair;
            }
            catch
            {
                await pair.DisposeAsync();
                throw;
            }
        }

        public async Task PublishAsync(string topic, int count)
        {
            using var http = new HttpClient();
            for (var n = 0; n < count; n++)
            {
                using var response = await http.PostAsync($"{Replicas[0].Sidecar.HttpEndpoint}/v1.0/publish/pubsub/{topic}",
                    new StringContent($$"""{"n":{{n}}}""", System.Text.Encoding.UTF8, "application/json"), Ct);
                Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
            }
        }

        private async Task StartReplicaAsync(int index, string topic, IReadOnlyDictionary<string, string> environment)
        {
            var port = Ports.GetFree();
            var received = new ConcurrentQueue<int>();
            var app = TestApp.Create(port, new Dictionary<string, string>(), _ => { }, web =>
            {
                web.MapGet("/dapr/subscribe", () => Results.Json(new[] { new { pubsubname = "pubsub", topic, route = "/events" } }));
                web.MapPost("/events", async (HttpRequest request) =>
                {
                    var envelope = await JsonNode.ParseAsync(request.Body);
                    received.Enqueue(envelope!["data"]!["n"]!.GetValue<int>());
                    return Results.Ok();
                });
            });
            await app.StartAsync();
            var settings = new SidecarSettings(AppId, Path.Combine(_folder.Path, "resources"), _folder.Sub($"registry-{index}")) { AppPort = port, Environment = environment };
            SidecarProcess sidecar;
            try
            {
                sidecar = await SidecarProcess.StartAsync(settings);
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }

            var replica = new Replica(app, sidecar, received);
            Replicas.Add(replica);
            await Deadline.WaitUntilAsync(() => sidecar.Output.Contains($"Subscribed to topic {topic} on", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), $"instance {index} to subscribe");
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var replica in Replicas)
            {
                await replica.DisposeAsync();
            }

            _folder.Dispose();
        }
    }
}
