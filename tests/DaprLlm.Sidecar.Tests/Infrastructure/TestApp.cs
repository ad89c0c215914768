using System.Net;

namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>
/// A small ASP.NET Core app on a real loopback port, configured like a Dapr app (Dapr.AspNetCore,
/// Dapr.Actors.AspNetCore, Dapr.Workflow...). It can be stopped and started again on the same port to
/// simulate an app crash and restart.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private readonly Action<WebApplicationBuilder> _configureServices;
    private readonly Action<WebApplication> _configureApp;
    private readonly IReadOnlyDictionary<string, string> _sidecarEnvironment;
    private WebApplication? _app;

    private TestApp(int port, IReadOnlyDictionary<string, string> sidecarEnvironment, Action<WebApplicationBuilder> configureServices, Action<WebApplication> configureApp)
    {
        Port = port;
        _sidecarEnvironment = sidecarEnvironment;
        _configureServices = configureServices;
        _configureApp = configureApp;
    }

    public int Port { get; }

    public string BaseAddress => $"http://127.0.0.1:{Port}";

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("not running");

    /// <summary>
    /// Creates an app on <paramref name="port"/> (reserve it with <see cref="Ports.GetFree"/> and give the same
    /// port to the sidecar's --app-port). The sidecar environment (DAPR_HTTP_ENDPOINT...) is set as configuration
    /// so DaprClient and the actor/workflow runtimes reach it.
    /// </summary>
    public static TestApp Create(int port, IReadOnlyDictionary<string, string> sidecarEnvironment, Action<WebApplicationBuilder> configureServices, Action<WebApplication> configureApp) =>
        new(port, sidecarEnvironment, configureServices, configureApp);

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port));
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(_sidecarEnvironment.Select(kv => KeyValuePair.Create(kv.Key, (string?)kv.Value)));
        _configureServices(builder);
        var app = builder.Build();
        _configureApp(app);
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
