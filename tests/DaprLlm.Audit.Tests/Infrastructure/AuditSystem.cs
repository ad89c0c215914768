using Dapr.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Audit.Tests.Infrastructure;

/// <summary>
/// The real delivery path: redis-server, the audit app process with its own sidecar (app id "audit"), and a publisher
/// sidecar standing in for the gateway. Components are the local ones with test addresses: Redis Streams pub/sub,
/// a file secret store holding the HMAC keys.
/// </summary>
public sealed class AuditSystem : IAsyncLifetime
{
    public const string AdminKey = "test-admin-key-0123456789";
    public const string EuOnlyKey = "test-eu-only-key-0123456789";
    public const string ComplianceKey = "test-compliance-key-0123456789";

    /// <summary>A key with a role that is neither admin nor compliance (it may call nothing).</summary>
    public const string OperatorKey = "test-operator-key-0123456789";

    private readonly RedisServer _redis = new();
    private WebApplication? _webhooks;
    private readonly TempFolder _folder = new("daprllm-audit-system");

    public SidecarProcess AuditSidecar { get; private set; } = null!;

    public SidecarProcess PublisherSidecar { get; private set; } = null!;

    public AuditAppProcess App { get; private set; } = null!;

    public DaprClient Publisher { get; private set; } = null!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public string RedisAddress => _redis.Address;

    /// <summary>Bodies received by the local webhook receiver, by path (/hooks/slack, /hooks/pagerduty).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(string Path, string Body)> Webhooks { get; } = new();

    /// <summary>Objects the archive binding stored in the local receiver ("blob container"), by name (eu/segment-....jsonl.gz).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> ArchivedObjects { get; } = new(StringComparer.Ordinal);

    public string DataDirectory => Path.Combine(_folder.Path, "data");

    public async ValueTask InitializeAsync()
    {
        await _redis.InitializeAsync();
        var resources = _folder.Sub("resources");
        var secrets = _folder.Write("secrets.json", System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
        {
            [DaprLlm.Contracts.SecretNames.AuditCheckpointSigningKey] = "system-test-checkpoint-key",
            [DaprLlm.Contracts.SecretNames.AuditPseudonymKey] = "system-test-pseudonym-key",
        }));
        _folder.Write("resources/pubsub.yaml", ComponentYaml.RedisPubSub(_redis.Address, ("processingTimeout", "3s"), ("redeliverInterval", "500ms")));
        _folder.Write("resources/statestore.yaml", ComponentYaml.RedisState(_redis.Address));
        _folder.Write("resources/secretstore.yaml", ComponentYaml.FileSecrets(secrets));
        var webhookPort = Ports.GetFree();
        var webhooks = WebApplication.CreateBuilder();
        webhooks.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, webhookPort));
        webhooks.Logging.ClearProviders();
        _webhooks = webhooks.Build();
        _webhooks.MapPost("/hooks/{kind}", async (string kind, HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            Webhooks.Enqueue(("/hooks/" + kind, await reader.ReadToEndAsync()));
            return Results.Ok();
        });
        // The production archive path: segments go through a bindings.http output binding to this receiver.
        _webhooks.MapPost("/archive/{**name}", async (string name, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            ArchivedObjects[name] = body.ToArray();
            return Results.Ok();
        });
        _webhooks.MapDelete("/archive/{**name}", (string name) => ArchivedObjects.TryRemove(name, out _) ? Results.Ok() : Results.NotFound());
        await _webhooks.StartAsync();
        _folder.Write("resources/audit-archive.yaml", $$"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: audit-archive
            spec:
              type: bindings.http
              version: v1
              metadata:
              - name: url
                value: "http://127.0.0.1:{{webhookPort}}/archive"
            """);
        foreach (var kind in new[] { "slack", "pagerduty" })
        {
            _folder.Write($"resources/alerts-{kind}.yaml", $$"""
                apiVersion: dapr.io/v1alpha1
                kind: Component
                metadata:
                  name: alerts-{{kind}}
                spec:
                  type: bindings.http
                  version: v1
                  metadata:
                  - name: url
                    value: "http://127.0.0.1:{{webhookPort}}/hooks/{{kind}}"
                """);
        }

        var registry = _folder.Sub("registry");
        var appPort = Ports.GetFree();
        var timeout = TimeSpan.FromSeconds(90);
        AuditSidecar = await SidecarProcess.StartAsync(new SidecarSettings("audit", resources, registry) { AppPort = appPort }, timeout);
        PublisherSidecar = await SidecarProcess.StartAsync(new SidecarSettings("gateway-test", resources, registry), timeout);
        Publisher = new DaprClientBuilder().UseHttpEndpoint(PublisherSidecar.HttpEndpoint).UseGrpcEndpoint(PublisherSidecar.GrpcEndpoint).Build();

        var environment = new Dictionary<string, string>(AuditSidecar.AppEnvironment)
        {
            ["Audit__DataDirectory"] = DataDirectory,
            ["Audit__ArchiveDirectory"] = Path.Combine(_folder.Path, "archive"),
            ["Audit__CheckpointEvery"] = "100",
            ["Audit__Tenants__eu-corp__Region"] = "eu",
            ["Audit__Tenants__eu-corp__KeepOriginals"] = "true",
            ["Audit__Tenants__us-corp__Region"] = "us",
            ["Audit__Tenants__arch-corp__Region"] = "eu",
            ["Audit__Tenants__arch-corp__HotDays"] = "0",
            ["Audit__ArchiveBinding"] = "audit-archive",
            ["Audit__ReportDirectory"] = Path.Combine(_folder.Path, "reports"),
            ["Audit__Alerts__Bindings__0__Name"] = "alerts-slack",
            ["Audit__Alerts__Bindings__0__Format"] = "slack",
            ["Audit__Alerts__Bindings__1__Name"] = "alerts-pagerduty",
            ["Audit__Alerts__Bindings__1__Format"] = "pagerduty",
            ["Audit__Alerts__Bindings__1__RoutingKey"] = "test-routing-key",
            ["Audit__Admins__0__Name"] = "root",
            ["Audit__Admins__0__Key"] = AdminKey,
            ["Audit__Admins__0__Roles__0"] = "admin",
            ["Audit__Admins__0__Regions__0"] = "eu",
            ["Audit__Admins__0__Regions__1"] = "us",
            ["Audit__Admins__1__Name"] = "eu-admin",
            ["Audit__Admins__1__Key"] = EuOnlyKey,
            ["Audit__Admins__1__Roles__0"] = "admin",
            ["Audit__Admins__1__Regions__0"] = "eu",
            ["Audit__Admins__2__Name"] = "auditor",
            ["Audit__Admins__2__Key"] = ComplianceKey,
            ["Audit__Admins__2__Roles__0"] = "compliance",
            ["Audit__Admins__2__Regions__0"] = "eu",
            ["Audit__Admins__2__Regions__1"] = "us",
            ["Audit__Admins__3__Name"] = "operator",
            ["Audit__Admins__3__Key"] = OperatorKey,
            ["Audit__Admins__3__Roles__0"] = "operator",
            ["Audit__Admins__3__Regions__0"] = "eu",
        };
        App = new AuditAppProcess(appPort, environment);
        await App.StartAsync();
        await WaitSubscribedAsync();
    }

    /// <summary>Polls with a deadline; on timeout the message carries the app's and the sidecar's last output lines.</summary>
    public async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        try
        {
            await Deadline.WaitUntilAsync(condition, timeout, what);
        }
        catch (TimeoutException e)
        {
            static string Tail(string text) => string.Join(Environment.NewLine, text.Split(Environment.NewLine).TakeLast(30));
            throw new TimeoutException($"{e.Message}{Environment.NewLine}--- audit app ---{Environment.NewLine}{Tail(App.Output)}{Environment.NewLine}--- audit sidecar ---{Environment.NewLine}{Tail(AuditSidecar.Output)}", e);
        }
    }

    /// <summary>Waits until the audit sidecar has read the app's subscriptions (after a start or restart).</summary>
    public Task WaitSubscribedAsync() => Deadline.WaitUntilAsync(
        () => AuditSidecar.Output.Contains("Subscribed to topic request.completed on", StringComparison.Ordinal),
        TimeSpan.FromSeconds(60), "the audit sidecar to subscribe to request.completed");

    /// <summary>Request ids of the stored request.completed records of a region, read straight from its SQLite file.</summary>
    public async Task<List<string>> StoredRequestIdsAsync(string region)
    {
        var path = Path.Combine(DataDirectory, $"audit-{region}.db");
        if (!File.Exists(path))
        {
            return [];
        }

        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT ref_id FROM records WHERE event_type = 'request.completed' AND ref_id IS NOT NULL";
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    public HttpRequestMessage Admin(HttpMethod method, string path, string key = AdminKey, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, App.BaseAddress + path) { Content = content };
        request.Headers.Add("X-Admin-Key", key);
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Publisher?.Dispose();
        Http.Dispose();
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        if (AuditSidecar is not null)
        {
            await AuditSidecar.DisposeAsync();
        }

        if (PublisherSidecar is not null)
        {
            await PublisherSidecar.DisposeAsync();
        }

        if (_webhooks is not null)
        {
            await _webhooks.DisposeAsync();
        }

        await _redis.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }
}
