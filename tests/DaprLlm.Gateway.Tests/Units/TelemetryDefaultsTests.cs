using System.Diagnostics;
using DaprLlm.ServiceDefaults;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>ServiceDefaults' OpenTelemetry: on (as before) with an OTLP endpoint, not registered at all without one.</summary>
[Collection(TelemetryListeners.Name)]
public sealed class TelemetryDefaultsTests
{
    private static WebApplication Build(string? otlpEndpoint)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (otlpEndpoint is not null)
        {
            builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint;
        }

        builder.AddServiceDefaults();
        return builder.Build();
    }

    [Fact]
    public async Task With_an_otlp_endpoint_traces_metrics_and_logs_are_collected()
    {
        await using var app = Build("http://127.0.0.1:4317");
        Assert.NotNull(app.Services.GetService<TracerProvider>());
        Assert.NotNull(app.Services.GetService<MeterProvider>());
        Assert.Contains(app.Services.GetServices<ILoggerProvider>(), p => p.GetType().FullName!.StartsWith("OpenTelemetry", StringComparison.Ordinal));

        // The apps' own spans are listened to (sampled and exported).
        using var source = new ActivitySource($"{ServiceDefaultsExtensions.TelemetryPrefix}.Tests");
        Assert.True(source.HasListeners());
    }

    [Fact]
    public async Task Without_an_otlp_endpoint_no_telemetry_pipeline_is_registered()
    {
        await using var app = Build(null);
        Assert.Null(app.Services.GetService<TracerProvider>());
        Assert.Null(app.Services.GetService<MeterProvider>());
        Assert.DoesNotContain(app.Services.GetServices<ILoggerProvider>(), p => p.GetType().FullName!.StartsWith("OpenTelemetry", StringComparison.Ordinal));
    }
}
