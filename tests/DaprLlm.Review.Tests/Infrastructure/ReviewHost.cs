using System.Globalization;
using System.Net.Http.Json;
using Dapr.Workflow;
using DaprLlm.Contracts.Inference;
using DaprLlm.Contracts.Safety;
using DaprLlm.Safety.Review;
using DaprLlm.Safety.Review.Accounts;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace DaprLlm.Review.Tests.Infrastructure;

/// <summary>
/// A real sidecar (app id "safety", Redis state/actors/pub-sub) and the real safety app with short review SLAs.
/// Either can be killed and restarted. Tests act as reviewers through the app's own ReviewService.
/// </summary>
public sealed class ReviewHost : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The policy admin key (secret <c>safety-admin-key</c>) in this host's secret store.</summary>
    public const string AdminKey = "review-tests-admin-key";

    private readonly TempFolder _folder;
    private readonly RedisServer _redis;

    private ReviewHost(TempFolder folder, RedisServer redis, SidecarProcess sidecar, SafetyApp app, string appToken)
    {
        _folder = folder;
        _redis = redis;
        Sidecar = sidecar;
        App = app;
        AppToken = appToken;
    }

    /// <summary>The APP_API_TOKEN the sidecar sends: the app's Dapr-facing routes answer only calls that carry it.</summary>
    public string AppToken { get; }

    /// <summary>A client straight to the app that presents itself as the sidecar (sends <see cref="AppToken"/>).</summary>
    public HttpClient CreateAppClient(TimeSpan? timeout = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(App.BaseAddress), Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        http.DefaultRequestHeaders.Add(DaprLlm.ServiceDefaults.DaprAppToken.Header, AppToken);
        return http;
    }

    /// <summary>The components folder and name-resolution registry this host's sidecar uses: another app's sidecar given both joins the same system.</summary>
    public (string Components, string Registry) SidecarPaths => (Path.Combine(_folder.Path, "components"), Path.Combine(_folder.Path, "registry"));

    public SidecarProcess Sidecar { get; }

    public SafetyApp App { get; }

    public ReviewService Reviews => App.Services.GetRequiredService<ReviewService>();

    public DaprWorkflowClient Workflows => App.Services.GetRequiredService<DaprWorkflowClient>();

    public static Reviewer Alice { get; } = Account("alice", ["reviewer"], ["acme"]);

    public static Reviewer Bob { get; } = Account("bob", ["reviewer"], ["acme", "globex"]);

    public static Reviewer Sam { get; } = Account("sam", ["senior"], ["*"]);

    public static Reviewer Account(string name, string[] roles, string[] tenants) =>
        new(name, roles.ToHashSet(StringComparer.Ordinal), tenants.ToHashSet(StringComparer.Ordinal));

    /// <param name="sla">The standard and senior wait for every severity.</param>
    /// <param name="webhookUrl">When set, a bindings.http component "review-webhook" posts decisions there.</param>
    /// <param name="httpsCertificate">When set, the app also listens on HTTPS (<see cref="SafetyApp.HttpsAddress"/>).</param>
    /// <param name="testServices">Service overrides applied after the app's own (e.g. a backchannel that trusts a test certificate).</param>
    /// <param name="extraComponents">More files for the components folder (name → YAML), e.g. components/local/resiliency.yaml.</param>
    public static async Task<ReviewHost> StartAsync(
        TimeSpan sla, string? webhookUrl = null, IReadOnlyDictionary<string, string>? extraSettings = null,
        System.Security.Cryptography.X509Certificates.X509Certificate2? httpsCertificate = null, Action<IServiceCollection>? testServices = null,
        IReadOnlyDictionary<string, string>? extraComponents = null)
    {
        var folder = new TempFolder("daprllm-review");
        // Its own Redis per host: no test sees another's items, workflows or events.
        var redis = new RedisServer();
        SidecarProcess? sidecar = null;
        try
        {
            await redis.InitializeAsync();
            var components = folder.Sub("components");
            folder.Write("components/statestore.yaml", ComponentYaml.RedisState(redis.Address, actorStateStore: true));
            folder.Write("components/pubsub.yaml", ComponentYaml.RedisPubSub(redis.Address));
            // The policy admin API reads its key from the secret store, as in components/local.
            var secrets = folder.Write("secrets.json", System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { [DaprLlm.Contracts.SecretNames.SafetyAdminKey] = AdminKey }));
            folder.Write("components/secretstore.yaml", ComponentYaml.FileSecrets(secrets));
            foreach (var (name, yaml) in extraComponents ?? new Dictionary<string, string>())
            {
                folder.Write("components/" + name, yaml);
            }

            if (webhookUrl is not null)
            {
                folder.Write("components/webhook.yaml", $$"""
                    apiVersion: dapr.io/v1alpha1
                    kind: Component
                    metadata:
                      name: review-webhook
                    spec:
                      type: bindings.http
                      version: v1
                      metadata:
                      - name: url
                        value: "{{webhookUrl}}"
                    """);
            }

            var appPort = Ports.GetFree();
            // As the AppHost runs it: events and invocations reach the app only with its sidecar's app token.
            var appToken = $"app-token-{Guid.NewGuid():N}";
            sidecar = await SidecarProcess.StartAsync(new SidecarSettings("safety", components, folder.Sub("registry")) { AppPort = appPort, AppApiToken = appToken }, StartTimeout);
            var slaText = sla.ToString("c", CultureInfo.InvariantCulture);
            var settings = new Dictionary<string, string>(sidecar.AppEnvironment)
            {
                ["Review:SlaBySeverity:low"] = slaText,
                ["Review:SlaBySeverity:medium"] = slaText,
                ["Review:SlaBySeverity:high"] = slaText,
                ["Review:SlaBySeverity:critical"] = slaText,
                ["Logging:LogLevel:Default"] = "Warning",
                ["APP_API_TOKEN"] = appToken,
            };
            if (webhookUrl is not null)
            {
                settings["Review:WebhookBinding"] = "review-webhook";
            }

            foreach (var (key, value) in extraSettings ?? new Dictionary<string, string>())
            {
                settings[key] = value;
            }

            var app = new SafetyApp(appPort, settings, httpsCertificate: httpsCertificate, testServices: testServices);
            app.Start();
            return new ReviewHost(folder, redis, sidecar, app, appToken);
        }
        catch
        {
            if (sidecar is not null)
            {
                await sidecar.DisposeAsync();
            }

            await redis.DisposeAsync();
            folder.Dispose();
            throw;
        }
    }

    /// <summary>An escalation with a unique request id; mild unless told otherwise.</summary>
    public static ReviewEscalation Item(string tenant = "acme", string severity = "medium", IReadOnlyDictionary<string, double>? categories = null, string? text = null) =>
        new(tenant, $"req-{Guid.NewGuid():N}", "input",
            text ?? "Please write to jane.doe@example.com about the order",
            categories ?? new Dictionary<string, double> { ["harassment"] = 0.42, ["hate"] = 0.05 },
            ["deny-term:example"], severity, "policy-7",
            [new ChatMessage("system", "You are helpful."), new ChatMessage("user", text ?? "Please write to jane.doe@example.com about the order")]);

    /// <summary>The status as the gateway reads it: GET reviews/{id} through the sidecar's service invocation.</summary>
    public async Task<ReviewStatus?> GetStatusViaDaprAsync(string id)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync($"{Sidecar.HttpEndpoint}/v1.0/invoke/safety/method/{ReviewNames.StatusMethodPrefix}{id}");
        return response.StatusCode == System.Net.HttpStatusCode.NotFound ? null : await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<ReviewStatus>();
    }

    public async Task<ReviewStatus> WaitForStatusAsync(string id, Func<ReviewStatus, bool> done, TimeSpan timeout, string what)
    {
        ReviewStatus? last = null;
        await Deadline.WaitUntilAsync(async () => (last = await GetStatusViaDaprAsync(id)) is { } s && done(s), timeout, what);
        return last!;
    }

    /// <summary>The CloudEvents published on a topic that mention <paramref name="needle"/> (read straight from the Redis stream).</summary>
    public async Task<IReadOnlyList<string>> PublishedAsync(string topic, string needle)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Address);
        var entries = await redis.GetDatabase().StreamRangeAsync(topic);
        return entries.SelectMany(e => e.Values).Select(v => v.Value.ToString()).Where(v => v.Contains(needle, StringComparison.Ordinal)).ToList();
    }

    /// <summary>
    /// Changes what the sidecar may do in Redis (<c>ACL SETUSER default ...</c>): "-xadd" takes pub/sub down and "+xadd"
    /// brings it back; "resetkeys ~pattern" refuses every other key until "allkeys".
    /// </summary>
    public async Task SetRedisAclAsync(params string[] rules)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Address);
        await redis.GetDatabase().ExecuteAsync("ACL", ["SETUSER", "default", .. rules]);
    }

    /// <summary>How many activity attempts of the workflow failed so far (each retry is one).</summary>
    public async Task<int> FailedActivitiesAsync(string instanceId) =>
        (await Workflows.GetInstanceHistoryAsync(instanceId)).Count(e => e.EventType == Dapr.Workflow.Client.WorkflowHistoryEventType.TaskFailed);

    public async Task RestartAppAsync()
    {
        await App.StopAsync();
        App.Start();
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Sidecar.DisposeAsync();
        await _redis.DisposeAsync();
        _folder.Dispose();
    }
}
