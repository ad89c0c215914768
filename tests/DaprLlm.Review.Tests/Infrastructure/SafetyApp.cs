using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DaprLlm.Review.Tests.Infrastructure;

/// <summary>
/// The real safety app (its Program) on a fixed loopback port, pointed at a real sidecar. Stopping disposes the
/// host; starting again builds a new one on the same port, as a crashed and restarted app would.
/// </summary>
public sealed class SafetyApp(int port, IReadOnlyDictionary<string, string> settings, string environment = "Development") : IAsyncDisposable
{
    private WebApplicationFactory<Program>? _factory;

    // This app's durable outbox: kept across a stop and start (a restarted replica drains what it left), removed at dispose.
    private readonly string _outbox = Path.Combine(Path.GetTempPath(), "daprllm-safety-outbox", Guid.NewGuid().ToString("N"));

    public int Port { get; } = port;

    public string BaseAddress => $"http://127.0.0.1:{Port}";

    public IServiceProvider Services => _factory?.Services ?? throw new InvalidOperationException("the app is not running");

    public void Start()
    {
        if (_factory is not null)
        {
            throw new InvalidOperationException("already running");
        }

        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment(environment);
            web.UseSetting("Outbox:Directory", _outbox);
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }
        });
        factory.UseKestrel(k => k.Listen(IPAddress.Loopback, Port));
        try
        {
            factory.StartServer();
        }
        catch
        {
            factory.Dispose();
            throw;
        }

        _factory = factory;
    }

    public async Task StopAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
            _factory = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (Directory.Exists(_outbox))
        {
            Directory.Delete(_outbox, recursive: true);
        }
    }
}
