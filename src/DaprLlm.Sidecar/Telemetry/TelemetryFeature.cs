using DaprLlm.Sidecar.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DaprLlm.Sidecar.Telemetry;

/// <summary>
/// OpenTelemetry traces, metrics and logs over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set or the --config
/// Configuration asks for it (tracing.otel.endpointAddress, tracing.samplingRate); W3C trace context is
/// propagated in every case; Prometheus metrics on --metrics-port (<see cref="MetricsEndpoint"/>).
/// </summary>
public static class TelemetryFeature
{
    /// <summary>The logger category of ASP.NET Core's per-request diagnostics (request activity and log scope).</summary>
    private const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        var options = (SidecarOptions)builder.Services.First(d => d.ServiceType == typeof(SidecarOptions)).ImplementationInstance!;
        var settings = TelemetrySettings.Read(options, Environment.GetEnvironmentVariable);
        SidecarTelemetry.AppId = options.AppId;
        HopTraceContext.Enabled = !settings.Exports;
        HopTraceContext.SamplingRate = settings.SamplingRate;
        builder.Services.AddSingleton(settings);
        builder.Services.AddHostedService<TelemetryStartup>();
        MetricsEndpoint.Add(builder, options);

        // A startup filter wraps the whole pipeline, so refused (401) and header-form calls are measured too.
        builder.Services.AddSingleton<IStartupFilter, ApiMetricsStartupFilter>();
        if (!settings.Exports)
        {
            // ASP.NET Core starts an Activity and a log scope for every request while this category is enabled at any
            // level (it is at Warning), and HttpClient then starts a child Activity per call because one is current:
            // AsyncLocal changes and allocations on every hop that nothing reads when nothing exports. The
            // category's own lines are per-request Information lines, already filtered out; trace context is passed
            // on by HopTraceContext instead.
            builder.Logging.AddFilter(HostingDiagnosticsCategory, LogLevel.None);
            return builder;
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(settings.ServiceName, serviceInstanceId: $"{options.AppId}-{Environment.ProcessId}"))
            .WithTracing(t => t
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(settings.SamplingRate)))
                .AddSource(SidecarTelemetry.SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = c => !c.Request.Path.StartsWithSegments("/v1.0/healthz"))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter(o => Configure(o, settings, "traces")))
            .WithMetrics(m => m
                .AddMeter(SidecarTelemetry.SourceName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddOtlpExporter(o => Configure(o, settings, "metrics")));
        builder.Logging.AddOpenTelemetry(l =>
        {
            l.IncludeFormattedMessage = true;
            l.IncludeScopes = true;
            l.AddOtlpExporter(o => Configure(o, settings, "logs"));
        });
        return builder;
    }

    public static WebApplication MapTelemetry(this WebApplication app) => app;

    private static void Configure(OtlpExporterOptions o, TelemetrySettings settings, string signal)
    {
        // From the environment the exporter reads OTEL_EXPORTER_OTLP_* itself.
        if (settings.OtlpEndpoint is not { } endpoint)
        {
            return;
        }

        o.Protocol = settings.OtlpOverHttp ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        o.Endpoint = settings.OtlpOverHttp ? new Uri(endpoint, $"{endpoint.AbsolutePath.TrimEnd('/')}/v1/{signal}") : endpoint;
    }
}
