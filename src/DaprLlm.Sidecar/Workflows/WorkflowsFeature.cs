using OpenTelemetry.Metrics;

namespace DaprLlm.Sidecar.Workflows;

/// <summary>Wiring of the Workflows building block: the TaskHubSidecarService gRPC API over a durable engine.</summary>
public static class WorkflowsFeature
{
    public static WebApplicationBuilder AddWorkflows(this WebApplicationBuilder builder)
    {
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<WorkflowMetrics>();
        // Joins the OTLP metrics pipeline when telemetry export is on; a no-op otherwise.
        builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddMeter(WorkflowMetrics.MeterName));
        builder.Services.AddSingleton<WorkItemHub>();
        builder.Services.AddSingleton<Metadata.IMetadataContributor, WorkflowsMetadata>();
        builder.Services.AddSingleton<WorkflowEngine>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkflowEngine>());
        return builder;
    }

    public static WebApplication MapWorkflows(this WebApplication app)
    {
        app.MapGrpcService<TaskHubService>();
        return app;
    }
}
