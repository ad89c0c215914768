namespace DaprLlm.Sidecar.Telemetry;

/// <summary>Wiring of the Telemetry building block (placeholder until it is implemented).</summary>
public static class TelemetryFeature
{
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapTelemetry(this WebApplication app) => app;
}
