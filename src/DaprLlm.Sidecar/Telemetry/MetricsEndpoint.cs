using System.Net;
using System.Net.Sockets;
using DaprLlm.Sidecar.Hosting;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace DaprLlm.Sidecar.Telemetry;

/// <summary>Where the Prometheus endpoint listens: the port, or why there is none (logged at start).</summary>
public sealed record MetricsEndpointSettings(int? Port, string? Disabled);

/// <summary>
/// daprd's Prometheus endpoint: with --enable-metrics (default true) the sidecar's metrics are served as Prometheus
/// text on --metrics-port (default 9090, as daprd), at / and /metrics, on the sidecar's listen address.
/// </summary>
public static class MetricsEndpoint
{
    public const int DaprdDefaultPort = 9090;

    /// <summary>Adds the Prometheus reader and the listener; returns the settings (Port null when nothing listens).</summary>
    public static MetricsEndpointSettings Add(WebApplicationBuilder builder, SidecarOptions options)
    {
        var settings = Resolve(options);
        builder.Services.AddSingleton(settings);
        if (settings.Port is not { } port)
        {
            return settings;
        }

        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(SidecarTelemetry.SourceName)
            .AddPrometheusExporter(o =>
            {
                // daprd's names and labels as they are (no _total or unit suffix, no otel_scope_* labels, no
                // target_info series), and every scrape fresh.
                o.TranslationStrategy = PrometheusAspNetCoreTranslationStrategy.UnderscoreEscapingWithoutSuffixes;
                o.ScopeInfoEnabled = false;
                o.TargetInfoEnabled = false;
                o.ScrapeResponseCacheDurationMilliseconds = 0;
            }));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(Address(options), port));

        // Outermost in the pipeline: a scrape is neither an API call (no token, not counted) nor routed to the APIs.
        builder.Services.AddSingleton<IStartupFilter>(new ScrapeStartupFilter(port));
        return settings;
    }

    private static MetricsEndpointSettings Resolve(SidecarOptions options)
    {
        if (!options.EnableMetrics)
        {
            return new MetricsEndpointSettings(null, "--enable-metrics=false");
        }

        if (options.MetricsPort is { } given)
        {
            // An explicit port that is taken stops the sidecar at start, as daprd.
            return new MetricsEndpointSettings(given, null);
        }

        // Without --metrics-port several sidecars started by hand would all want daprd's 9090: the first takes it, the
        // others say so and run on without an endpoint rather than fail (the AppHost passes a free port to each).
        return IsFree(Address(options), DaprdDefaultPort)
            ? new MetricsEndpointSettings(DaprdDefaultPort, null)
            : new MetricsEndpointSettings(null, $"default port {DaprdDefaultPort} is in use; pass --metrics-port");
    }

    private static IPAddress Address(SidecarOptions options) =>
        options.ListenAddress is "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.ListenAddress);

    private static bool IsFree(IPAddress address, int port)
    {
        try
        {
            using var probe = new TcpListener(address, port);
            probe.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private sealed class ScrapeStartupFilter(int port) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.MapWhen(c => c.Connection.LocalPort == port, metrics =>
            {
                metrics.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider: null,
                    predicate: c => c.Request.Path.Value is "/" or "/metrics", path: null, configureBranchedPipeline: null, optionsName: null);
                metrics.Run(c =>
                {
                    c.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                });
            });
            next(app);
        };
    }
}
