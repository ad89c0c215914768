using System.Diagnostics;
using DaprLlm.Sidecar.Hosting;

namespace DaprLlm.Sidecar.Telemetry;

/// <summary>
/// Makes the sidecar's spans exist even when nothing exports them, so W3C trace context is always
/// propagated (parent-based sampling at tracing.samplingRate, as daprd), and logs what the sidecar was
/// started with, including daprd flags it accepts without acting on them.
/// </summary>
internal sealed class TelemetryStartup(SidecarOptions options, TelemetrySettings settings, MetricsEndpointSettings metrics, ILogger<TelemetryStartup> logger) : IHostedService, IDisposable
{
    private ActivityListener? _listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SidecarTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> creation) =>
                (creation.Parent.TraceFlags & ActivityTraceFlags.Recorded) != 0 || ShouldSample(creation.TraceId)
                    ? ActivitySamplingResult.AllDataAndRecorded
                    : ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(_listener);

        logger.LogInformation("Starting DaprLlm sidecar for app id {AppId}: HTTP port {HttpPort}, gRPC port {GrpcPort}, app port {AppPort}, listening on {Address}",
            options.AppId, options.DaprHttpPort, options.DaprGrpcPort, options.AppPort, options.ListenAddress);
        foreach (var flag in options.IgnoredFlags)
        {
            logger.LogInformation("Flag {Flag} is accepted for daprd compatibility and has no effect in the local sidecar", flag);
        }

        if (metrics.Port is { } metricsPort)
        {
            logger.LogInformation("Metrics: Prometheus endpoint on port {MetricsPort} (/ and /metrics)", metricsPort);
        }
        else
        {
            logger.LogInformation("Metrics: no Prometheus endpoint ({Reason})", metrics.Disabled);
        }

        logger.LogInformation(settings.Exports
            ? "Telemetry: exporting over OTLP as {ServiceName}, sampling rate {SamplingRate}"
            : "Telemetry: no OTLP endpoint configured ({ServiceName}, sampling rate {SamplingRate}); trace context is still propagated",
            settings.ServiceName, settings.SamplingRate);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener?.Dispose();

    private bool ShouldSample(ActivityTraceId traceId) => HopTraceContext.ShouldSample(traceId, settings.SamplingRate);
}
