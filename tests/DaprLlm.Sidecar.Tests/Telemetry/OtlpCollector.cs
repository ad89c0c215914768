using System.Collections.Concurrent;
using System.Net;
using System.Text;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Telemetry;

/// <summary>
/// A minimal OTLP/HTTP receiver on a loopback port: keeps every export body per signal path
/// (/v1/traces, /v1/metrics, /v1/logs). Protobuf strings are UTF-8, so tests look for names in the raw bytes.
/// </summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<byte[]>> _exports = new(StringComparer.Ordinal);
    private WebApplication? _app;

    public int Port { get; } = Ports.GetFree();

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public static async Task<OtlpCollector> StartAsync()
    {
        var collector = new OtlpCollector();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, collector.Port));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/v1/{signal}", async (string signal, HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            collector._exports.GetOrAdd(signal, _ => new ConcurrentQueue<byte[]>()).Enqueue(buffer.ToArray());
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        collector._app = app;
        return collector;
    }

    /// <summary>True when some export of <paramref name="signal"/> ("traces", "metrics", "logs") contains every text.</summary>
    public bool Received(string signal, params string[] texts) =>
        _exports.TryGetValue(signal, out var bodies) &&
        bodies.Any(b => texts.All(t => Encoding.UTF8.GetString(b).Contains(t, StringComparison.Ordinal)));

    public bool ReceivedAny(string signal, string text) =>
        _exports.TryGetValue(signal, out var bodies) && bodies.Any(b => Encoding.UTF8.GetString(b).Contains(text, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
