using System.Net;
using System.Security.Cryptography.X509Certificates;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace DaprLlm.Review.Tests.Infrastructure;

/// <summary>
/// The real safety app (its Program) on a fixed loopback port, pointed at a real sidecar. Stopping disposes the
/// host; starting again builds a new one on the same port, as a crashed and restarted app would.
/// With <paramref name="httpsCertificate"/> it also listens on HTTPS (Secure cookies, OIDC); the sidecar keeps the HTTP port.
/// <paramref name="testServices"/> runs after the app's own registrations.
/// </summary>
public sealed class SafetyApp(
    int port, IReadOnlyDictionary<string, string> settings, string environment = "Development",
    X509Certificate2? httpsCertificate = null, Action<IServiceCollection>? testServices = null) : IAsyncDisposable
{
    private WebApplicationFactory<Program>? _factory;

    // This app's durable outbox: kept across a stop and start (a restarted replica drains what it left), removed at dispose.
    private readonly string _outbox = Path.Combine(Path.GetTempPath(), "daprllm-safety-outbox", Guid.NewGuid().ToString("N"));

    /// <summary>The reviewer UI's key ring (Review:KeyRing:Directory): kept across a stop and start, removed at dispose.</summary>
    public string KeyRingDirectory { get; } = Path.Combine(Path.GetTempPath(), "daprllm-safety-keys", Guid.NewGuid().ToString("N"));

    public int Port { get; } = port;

    public string BaseAddress => $"http://127.0.0.1:{Port}";

    /// <summary>The HTTPS port; 0 without a certificate.</summary>
    public int HttpsPort { get; } = httpsCertificate is null ? 0 : Ports.GetFree();

    public string HttpsAddress => $"https://127.0.0.1:{HttpsPort}";

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
            web.UseSetting("Review:KeyRing:Directory", KeyRingDirectory);
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }

            if (testServices is not null)
            {
                web.ConfigureTestServices(testServices);
            }
        });
        factory.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, Port);
            if (httpsCertificate is not null)
            {
                k.Listen(IPAddress.Loopback, HttpsPort, listen => listen.UseHttps(httpsCertificate));
            }
        });
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
            // A real restart is a new process, whose old outbox lock the OS has released. In process the old host's
            // singletons may still be finishing their disposal (a restart here once found the lock held), so wait for it.
            await Deadline.WaitUntilAsync(OutboxUnlocked, TimeSpan.FromSeconds(15), "the stopped app to release its outbox lock");
        }
    }

    private bool OutboxUnlocked()
    {
        if (!Directory.Exists(_outbox))
        {
            return true;
        }

        foreach (var lockFile in Directory.EnumerateFiles(_outbox, "*.lock"))
        {
            try
            {
                using var probe = new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                return false;
            }
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var folder in new[] { _outbox, KeyRingDirectory })
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
