using DaprLlm.Sidecar.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Telemetry;
using DaprLlm.Sidecar.Tests.Workflows.Samples;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>The engine's metrics reach an OTLP collector with the sidecar's other metrics.</summary>
public sealed class WorkflowMetricsTests
{
    [Fact]
    public async Task Exports_workflow_counts_activity_latency_timers_and_backlog_over_otlp()
    {
        await using var collector = await OtlpCollector.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
        };
        await using var host = await WorkflowHost.StartAsync("wf-metrics", SampleRegistrations.All, sidecarEnvironment: environment);

        await host.RunAsync(nameof(GreetingWorkflow), $"metrics-{Guid.NewGuid():N}", "Ada");
        await host.RunAsync(nameof(RetryWorkflow), $"metrics-fail-{Guid.NewGuid():N}", 10);

        await Deadline.WaitUntilAsync(() => collector.Received("metrics", "dapr_runtime_workflow_started_total", "dapr_runtime_workflow_execution_count",
                "dapr_runtime_workflow_failed_total", "dapr_runtime_workflow_activity_execution_latency", "dapr_runtime_workflow_timers_pending",
                "dapr_runtime_workflow_backlog"),
            TimeSpan.FromSeconds(15), "the workflow metrics in an OTLP export");
    }
}
