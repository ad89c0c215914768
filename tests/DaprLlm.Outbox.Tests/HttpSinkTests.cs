using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using DaprLlm.Outbox.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Outbox.Tests;

/// <summary>
/// <see cref="DaprHttpOutboxSink"/> against a real sidecar process (Redis Streams) and a real subscriber: the stored
/// envelopes arrive as they were stored (ids fixed at enqueue), bulk calls carry the API token, and a sidecar that refuses
/// the call leaves every row in the outbox.
/// </summary>
public sealed class HttpSinkTests
{
    private const string Topic = "outbox.http";
    private const string Token = "outbox-http-token-0123456789";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Sample(int Sequence, string Note);

    [Fact]
    public async Task Stored_envelopes_reach_the_subscriber_through_the_http_bulk_api_with_their_ids_and_data()
    {
        await using var rig = await SidecarRig.StartAsync(Ct);
        using var outbox = new OutboxRig(new OutboxOptions { BatchDelayMs = 20, MaxBatch = 100, MinBackoffMs = 10, MaxBackoffMs = 50 });
        using var sink = new DaprHttpOutboxSink(new Uri(rig.Sidecar.HttpEndpoint), "pubsub", Token);
        using var drain = new OutboxDrain(outbox.Outbox, sink, outbox.Options, TimeProvider.System, NullLogger<OutboxDrain>.Instance);
        await drain.StartAsync(Ct);

        var ids = new List<string>();
        for (var i = 0; i < 250; i++)
        {
            ids.Add(outbox.Outbox.Enqueue(Topic, new Sample(i, "caf\u00e9 \"quoted\"")) ?? throw new InvalidOperationException("refused"));
        }

        await Deadline.WaitUntilAsync(() => rig.Received.Count >= ids.Count, Timeout, "every event at the subscriber");
        await outbox.WaitAsync(() => outbox.Outbox.Count == 0, "the published rows to be deleted");
        await drain.StopAsync(Ct);

        var received = rig.Received.ToList();
        Assert.Equal(ids.Order(), received.Select(r => r.Id).Order());
        Assert.All(received, r =>
        {
            Assert.Equal("app-test", r.Source);
            Assert.Equal(Topic, r.Type);
            Assert.Equal("caf\u00e9 \"quoted\"", r.Note);
        });
        Assert.Equal(Enumerable.Range(0, 250), received.Select(r => r.Sequence).Order());
        Assert.Equal(0, outbox.RowsOnDisk());
    }

    [Fact]
    public async Task A_call_without_the_api_token_is_refused_as_a_whole_and_the_rows_stay()
    {
        await using var rig = await SidecarRig.StartAsync(Ct);
        using var outbox = new OutboxRig(new OutboxOptions { BatchDelayMs = 0, MinBackoffMs = 10, MaxBackoffMs = 50 });
        using var sink = new DaprHttpOutboxSink(new Uri(rig.Sidecar.HttpEndpoint), "pubsub", apiToken: null);
        for (var i = 0; i < 3; i++)
        {
            outbox.Outbox.Enqueue(Topic, new Sample(i, "no token"));
        }

        await outbox.Outbox.FlushAsync();
        var stored = outbox.Outbox.Read(0, 10);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => sink.PublishAsync(Topic, stored, Ct));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        // Through the drain: the failure is retried, nothing is deleted, nothing is delivered.
        var counting = new FailureCountingSink(sink);
        using var drain = new OutboxDrain(outbox.Outbox, counting, outbox.Options, TimeProvider.System, NullLogger<OutboxDrain>.Instance);
        await drain.StartAsync(Ct);
        await Deadline.WaitUntilAsync(() => counting.Failures >= 3, Timeout, "three refused attempts");
        await drain.StopAsync(Ct);
        Assert.Equal(3, outbox.RowsOnDisk());
        Assert.Empty(rig.Received);
    }

    private sealed class FailureCountingSink(IOutboxSink inner) : IOutboxSink
    {
        private int _failures;

        public int Failures => Volatile.Read(ref _failures);

        public async Task<IReadOnlyList<OutboxMessage>> PublishAsync(string topic, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
        {
            try
            {
                return await inner.PublishAsync(topic, messages, cancellationToken);
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref _failures);
                throw;
            }
        }
    }

    /// <summary>Redis, a sidecar that requires <see cref="Token"/>, and the subscriber app behind it.</summary>
    private sealed class SidecarRig : IAsyncDisposable
    {
        private TempFolder _folder = null!;
        private RedisServer _redis = null!;
        private WebApplication _subscriber = null!;

        public SidecarProcess Sidecar { get; private set; } = null!;

        public ConcurrentQueue<(string Id, string Source, string Type, int Sequence, string Note)> Received { get; } = new();

        public static async Task<SidecarRig> StartAsync(CancellationToken ct)
        {
            var rig = new SidecarRig { _folder = new TempFolder("daprllm-outbox-http"), _redis = new RedisServer() };
            await rig._redis.InitializeAsync();
            rig._folder.Write("resources/pubsub.yaml", ComponentYaml.RedisPubSub(rig._redis.Address));
            var port = Ports.GetFree();
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
            rig._subscriber = builder.Build();
            rig._subscriber.MapGet("/dapr/subscribe", () => Results.Json(new[] { new { pubsubname = "pubsub", topic = Topic, route = "/receive" } }));
            rig._subscriber.MapPost("/receive", async (HttpRequest request) =>
            {
                using var document = await JsonDocument.ParseAsync(request.Body);
                var root = document.RootElement;
                var data = root.GetProperty("data");
                rig.Received.Enqueue((root.GetProperty("id").GetString()!, root.GetProperty("source").GetString()!, root.GetProperty("type").GetString()!,
                    data.GetProperty("sequence").GetInt32(), data.GetProperty("note").GetString()!));
                return Results.Ok(new { status = "SUCCESS" });
            });
            await rig._subscriber.StartAsync(ct);
            rig.Sidecar = await SidecarProcess.StartAsync(
                new SidecarSettings("outbox-http", rig._folder.Sub("resources"), rig._folder.Sub("registry")) { AppPort = port, ApiToken = Token }, Timeout);
            await Deadline.WaitUntilAsync(() => rig.Sidecar.Output.Contains($"Subscribed to topic {Topic}", StringComparison.Ordinal), Timeout, "the subscription");
            return rig;
        }

        public async ValueTask DisposeAsync()
        {
            await Sidecar.DisposeAsync();
            await _subscriber.DisposeAsync();
            await _redis.DisposeAsync();
            _folder.Dispose();
        }
    }
}
