using System.Diagnostics.Metrics;

namespace DaprLlm.Sidecar.Workflows;

/// <summary>
/// Workflow engine metrics (meter "DaprLlm.Sidecar.Workflows"), named like daprd's dapr_runtime_workflow_* metrics
/// where daprd has one, exported over OTLP with the sidecar's other metrics.
/// </summary>
public sealed class WorkflowMetrics
{
    public const string MeterName = "DaprLlm.Sidecar.Workflows";

    private readonly Meter _meter;
    private readonly Counter<long> _started;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Histogram<double> _activityLatency;

    public WorkflowMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _started = _meter.CreateCounter<long>("dapr_runtime_workflow_started_total", description: "Workflow instances started (child workflows and reruns included).");
        _completed = _meter.CreateCounter<long>("dapr_runtime_workflow_execution_count", description: "Workflow instances that reached a terminal state, by status.");
        _failed = _meter.CreateCounter<long>("dapr_runtime_workflow_failed_total", description: "Workflow instances that failed.");
        _activityLatency = _meter.CreateHistogram<double>("dapr_runtime_workflow_activity_execution_latency", unit: "ms",
            description: "Time from dispatching an activity to the worker to its completion.");
    }

    /// <summary>Wires the gauges that read live engine state.</summary>
    public void Observe(Func<int> pendingTimers, Func<int> orchestrationBacklog, Func<int> activityBacklog)
    {
        _meter.CreateObservableGauge("dapr_runtime_workflow_timers_pending", pendingTimers, description: "Durable timers waiting to fire.");
        _meter.CreateObservableGauge("dapr_runtime_workflow_backlog", () => new[]
        {
            new Measurement<int>(orchestrationBacklog(), new KeyValuePair<string, object?>("kind", "orchestration")),
            new Measurement<int>(activityBacklog(), new KeyValuePair<string, object?>("kind", "activity")),
        }, description: "Work items waiting for (or running on) the app's worker.");
    }

    public void Started() => _started.Add(1);

    public void Finished(string status)
    {
        _completed.Add(1, new KeyValuePair<string, object?>("status", status));
        if (status == "failed")
        {
            _failed.Add(1);
        }
    }

    public void ActivityCompleted(TimeSpan latency, bool failed) =>
        _activityLatency.Record(latency.TotalMilliseconds, new KeyValuePair<string, object?>("failed", failed));

}
