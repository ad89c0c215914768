using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DaprLlm.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The whole system, started once per test class from the real AppHost: Redis, one sidecar per app and the
/// four apps. Resources export traces to an in-test OTLP receiver. Set DAPRLLM_SIDECAR=daprd to run the same
/// tests against real daprd (the GitHub dapr-integration workflow does).
/// </summary>
public sealed class DaprLlmAppFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5); // generous: a loaded 2-core CI box starts four apps and four sidecars
    private static readonly string[] AppResources = ["gateway", "inference", "inference-us", "safety", "audit"];

    /// <summary>The gateway's development API key for this run (passed through the AppHost as DAPRLLM_DEV_API_KEY).</summary>
    public const string DevApiKey = "dev-e2e-key-0123456789abcdef";

    public OtlpTraceReceiver Traces { get; } = new();

    // Each test class starts from empty stores, so state left by an earlier run (quotas used today, policies,
    // audit chains) cannot change what a test sees.
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "daprllm-e2e-" + Guid.NewGuid().ToString("N"));

    public DistributedApplication App { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await Traces.StartAsync();
        using var cts = new CancellationTokenSource(StartTimeout);
        var sidecar = Environment.GetEnvironmentVariable("DAPRLLM_SIDECAR") ?? "auto";
        Environment.SetEnvironmentVariable("DAPRLLM_DEV_API_KEY", DevApiKey);
        Environment.SetEnvironmentVariable("DAPRLLM_DATA_DIR", _dataDirectory);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.DaprLlm_AppHost>(
            [$"DAPRLLM_SIDECAR={sidecar}"], cts.Token);
        builder.Services.AddLogging(logging => logging
            .AddSimpleConsole(o => o.SingleLine = true)
            .SetMinimumLevel(LogLevel.Information)
            .AddFilter("Aspire.Hosting.Dcp", LogLevel.Warning)
            .AddFilter("Microsoft", LogLevel.Warning)
            .AddProvider(new ResourceLogFiles()));

        foreach (var resource in builder.Resources.OfType<IResourceWithEnvironment>())
        {
            resource.Annotations.Add(new EnvironmentCallbackAnnotation(context =>
            {
                // Without the collector the OTLP retry makes every app take ~12 s to exit (FACTS.md).
                context.EnvironmentVariables.Remove("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY");
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_ENDPOINT"] = Traces.Endpoint;
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
                context.EnvironmentVariables["OTEL_BSP_SCHEDULE_DELAY"] = "200";
            }));
        }

        App = await builder.BuildAsync(cts.Token);
        await App.StartAsync(cts.Token);
        foreach (var name in AppResources)
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);
        }
    }

    /// <summary>An HttpClient for a resource; the gateway's carries the development API key.</summary>
    public HttpClient CreateClient(string resource)
    {
        var client = App.CreateHttpClient(resource, "http");
        if (resource == "gateway")
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", DevApiKey);
        }
        else if (resource == "audit")
        {
            // Every audit route the tests read (admin API, stored requests) needs the development admin key.
            client.DefaultRequestHeaders.Add("X-Admin-Key", AdminCli.DevAdminKey);
        }

        return client;
    }

    /// <summary>
    /// A client for <paramref name="appId"/>'s Dapr-facing methods, sent through the gateway's sidecar as the gateway's own
    /// calls are (the app refuses them without its sidecar's app token). Paths are relative: "reviews/rv-1".
    /// </summary>
    public HttpClient CreateInvokeClient(string appId)
    {
        var client = App.CreateHttpClient("gateway-dapr", "http");
        client.BaseAddress = new Uri(client.BaseAddress!, $"/v1.0/invoke/{appId}/method/");
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }

        await Traces.DisposeAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A process that has not quite exited may still hold a file; the folder is in the temp directory.
        }
    }
}
