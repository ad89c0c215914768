using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapr.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.PubSub;

/// <summary>One event as the subscriber app saw it: the raw envelope (before UseCloudEvents) and the unwrapped data.</summary>
public sealed record Delivery(string Path, JsonObject Envelope, string Data, int Attempt)
{
    /// <summary>The "n" number the tests put in their JSON payloads, or null.</summary>
    public int? N
    {
        get
        {
            try
            {
                return JsonNode.Parse(Data) is JsonObject o && o["n"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    public string Id => Envelope["id"]?.GetValue<string>() ?? "";
}

/// <summary>
/// A subscriber app (Dapr.AspNetCore: UseCloudEvents, MapSubscribeHandler, WithTopic) with its own sidecar, plus a
/// publisher: a second sidecar (for a shared broker like Redis) or the subscriber's own sidecar (in-memory).
/// Every delivery is recorded; <see cref="Respond"/> decides the app's answer.
/// </summary>
public sealed class PubSubRig : IAsyncDisposable
{
    private readonly TempFolder _folder = new("daprllm-pubsub");
    private readonly ConcurrentDictionary<string, int> _attempts = new();
    private SidecarProcess? _publisherSidecar;

    private PubSubRig(string prefix)
    {
        Prefix = prefix;
        SubscriberAppId = $"sub-{prefix}";
        PublisherAppId = $"pub-{prefix}";
        AppPort = Ports.GetFree();
    }

    public static TimeSpan StartTimeout { get; } = TimeSpan.FromSeconds(60);

    public string Prefix { get; }

    public string SubscriberAppId { get; }

    public string PublisherAppId { get; }

    public int AppPort { get; }

    public string ResourcesPath => Path.Combine(_folder.Path, "resources");

    public SidecarProcess Subscriber { get; private set; } = null!;

    public SidecarProcess Publisher => _publisherSidecar ?? Subscriber;

    public TestApp App { get; private set; } = null!;

    public DaprClient Client { get; private set; } = null!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    public ConcurrentQueue<Delivery> Deliveries { get; } = new();

    /// <summary>The app's answer to each delivery (default: 200 with an empty body).</summary>
    public Func<Delivery, Task<IResult>> Respond { get; set; } = _ => Task.FromResult(Results.Ok());

    /// <summary>A topic name unique to this test (streams are shared through the Redis fixture).</summary>
    public string Topic(string name) => $"{Prefix}-{name}";

    /// <summary>Starts the sidecars and the app, and waits until the sidecar has subscribed to <paramref name="expectTopics"/>.</summary>
    public static async Task<PubSubRig> StartAsync(
        Func<PubSubRig, string> componentYaml, bool separatePublisher, Action<WebApplication, PubSubRig> mapRoutes,
        IEnumerable<string> expectTopics, Action<PubSubRig>? writeResources = null)
    {
        var rig = new PubSubRig(Guid.NewGuid().ToString("N")[..10]);
        try
        {
            await rig.InitAsync(componentYaml, separatePublisher, mapRoutes, expectTopics, writeResources);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    public void WriteResource(string name, string yaml) => _folder.Write(Path.Combine("resources", name), yaml);

    public IReadOnlyList<Delivery> To(string path) => Deliveries.Where(d => d.Path == path).ToList();

    public Task WaitSubscribedAsync(string topic) => Deadline.WaitUntilAsync(
        () => Subscriber.Output.Contains($"Subscribed to topic {topic} on", StringComparison.Ordinal),
        StartTimeout, $"the sidecar to subscribe to {topic}");

    public Task WaitForAsync(Func<bool> condition, string what) => Deadline.WaitUntilAsync(condition, TimeSpan.FromSeconds(45), what);

    /// <summary>Publishes JSON through the publisher sidecar's HTTP API and asserts 204.</summary>
    public async Task PublishHttpAsync(string pubsub, string topic, string body, string contentType = "application/json", string query = "")
    {
        using var content = new StringContent(body);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var response = await Http.PostAsync($"{Publisher.HttpEndpoint}/v1.0/publish/{pubsub}/{topic}{query}", content, TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.NoContent, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        Http.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        if (Subscriber is not null)
        {
            await Subscriber.DisposeAsync();
        }

        if (_publisherSidecar is not null)
        {
            await _publisherSidecar.DisposeAsync();
        }

        _folder.Dispose();
    }

    private async Task InitAsync(Func<PubSubRig, string> componentYaml, bool separatePublisher, Action<WebApplication, PubSubRig> mapRoutes,
        IEnumerable<string> expectTopics, Action<PubSubRig>? writeResources)
    {
        _folder.Sub("resources");
        WriteResource("pubsub.yaml", componentYaml(this));
        writeResources?.Invoke(this);
        var registry = _folder.Sub("registry");
        // Generous start timeout: CI machines may be busy. Each started sidecar is kept so DisposeAsync cleans it up.
        var subscriberStart = SidecarProcess.StartAsync(new SidecarSettings(SubscriberAppId, ResourcesPath, registry) { AppPort = AppPort }, StartTimeout);
        var publisherStart = separatePublisher
            ? SidecarProcess.StartAsync(new SidecarSettings(PublisherAppId, ResourcesPath, registry), StartTimeout)
            : Task.FromResult<SidecarProcess>(null!);
        try
        {
            await Task.WhenAll(subscriberStart, publisherStart);
        }
        finally
        {
            Subscriber = subscriberStart.IsCompletedSuccessfully ? subscriberStart.Result : null!;
            _publisherSidecar = publisherStart.IsCompletedSuccessfully ? publisherStart.Result : null;
        }

        Client = new DaprClientBuilder().UseGrpcEndpoint(Publisher.GrpcEndpoint).UseHttpEndpoint(Publisher.HttpEndpoint).Build();

        App = TestApp.Create(AppPort, Subscriber.AppEnvironment, _ => { }, app =>
        {
            // Keep the raw envelope before UseCloudEvents unwraps it, to check what the sidecar sent.
            app.Use(async (context, next) =>
            {
                if (HttpMethods.IsPost(context.Request.Method))
                {
                    context.Request.EnableBuffering();
                    using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
                    context.Items["envelope"] = await reader.ReadToEndAsync();
                    context.Request.Body.Position = 0;
                }

                await next(context);
            });
            app.UseCloudEvents();
            app.MapSubscribeHandler();
            mapRoutes(app, this);
        });
        await App.StartAsync();
        foreach (var topic in expectTopics)
        {
            await WaitSubscribedAsync(topic);
        }
    }

    /// <summary>The handler every subscribed route uses: records the delivery and answers through <see cref="Respond"/>.</summary>
    public async Task<IResult> HandleAsync(string path, HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var data = await reader.ReadToEndAsync();
        var envelope = JsonNode.Parse((string)context.Items["envelope"]!) as JsonObject ?? [];
        var id = envelope["id"]?.GetValue<string>() ?? "";
        var delivery = new Delivery(path, envelope, data, _attempts.AddOrUpdate($"{path}|{id}", 1, (_, a) => a + 1));
        Deliveries.Enqueue(delivery);
        return await Respond(delivery);
    }

    /// <summary>Maps a POST route that records deliveries.</summary>
    public RouteHandlerBuilder Map(WebApplication app, string path) =>
        app.MapPost(path, (Delegate)((HttpContext context) => HandleAsync(path, context)));

    public static string Json(object value) => JsonSerializer.Serialize(value);
}
