using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DaprLlm.Sidecar.Telemetry;

/// <summary>
/// The sidecar's own ActivitySource and Meter. Instrument names follow daprd's metrics
/// (dapr_http_server_request_count, dapr_service_invocation_*, dapr_component_*), so dashboards built for
/// daprd read ours. Features record component operations through <see cref="RecordComponentOperation"/>.
/// </summary>
public static class SidecarTelemetry
{
    public const string SourceName = "DaprLlm.Sidecar";

    public static readonly ActivitySource Source = new(SourceName, typeof(SidecarTelemetry).Assembly.GetName().Version?.ToString());

    public static readonly Meter Meter = new(SourceName, typeof(SidecarTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> HttpServerRequests = Meter.CreateCounter<long>("dapr_http_server_request_count", description: "API requests served, per API path, method and status");
    private static readonly Histogram<double> HttpServerLatency = Meter.CreateHistogram<double>("dapr_http_server_latency", "ms", "API request latency");
    private static readonly Counter<long> InvocationRequestsSent = Meter.CreateCounter<long>("dapr_service_invocation_req_sent_total", description: "Service invocation requests sent");
    private static readonly Counter<long> InvocationResponsesReceived = Meter.CreateCounter<long>("dapr_service_invocation_res_recv_total", description: "Service invocation responses received");
    private static readonly Histogram<double> InvocationLatency = Meter.CreateHistogram<double>("dapr_service_invocation_res_recv_latency_ms", "ms", "Service invocation latency to the response headers");
    private static readonly Counter<long> ComponentOperations = Meter.CreateCounter<long>("dapr_component_operation_count", description: "Component operations, per component, operation and outcome");
    private static readonly Histogram<double> ComponentLatency = Meter.CreateHistogram<double>("dapr_component_operation_latency", "ms", "Component operation latency");
    private static readonly Counter<long> PubSubEgress = Meter.CreateCounter<long>("dapr_component_pubsub_egress_count", description: "Messages published to a pub/sub component, per topic and outcome");
    private static readonly Histogram<double> PubSubEgressLatency = Meter.CreateHistogram<double>("dapr_component_pubsub_egress_latencies", "ms", "Publish latency");
    private static readonly Counter<long> PubSubIngress = Meter.CreateCounter<long>("dapr_component_pubsub_ingress_count", description: "Messages delivered from a pub/sub component to the app, per topic and process status");
    private static readonly Histogram<double> PubSubIngressLatency = Meter.CreateHistogram<double>("dapr_component_pubsub_ingress_latencies", "ms", "Delivery latency to the app");

    /// <summary>The app id all measurements are tagged with (set once at start).</summary>
    public static string AppId { get; set; } = "";

    public static void RecordApiRequest(string method, string path, int status, TimeSpan elapsed)
    {
        // Per request: no tag list is built while no meter listener (exporter) is attached.
        if (!HttpServerRequests.Enabled && !HttpServerLatency.Enabled)
        {
            return;
        }

        var tags = new TagList { { "app_id", AppId }, { "method", method }, { "path", path }, { "status", status } };
        HttpServerRequests.Add(1, tags);
        HttpServerLatency.Record(elapsed.TotalMilliseconds, tags);
    }

    public static void RecordInvocation(string destinationAppId, string method, int status, TimeSpan elapsed)
    {
        if (!InvocationRequestsSent.Enabled && !InvocationResponsesReceived.Enabled && !InvocationLatency.Enabled)
        {
            return;
        }

        InvocationRequestsSent.Add(1, new TagList { { "app_id", AppId }, { "destination_app_id", destinationAppId }, { "method", method } });
        var tags = new TagList { { "app_id", AppId }, { "destination_app_id", destinationAppId }, { "status", status } };
        InvocationResponsesReceived.Add(1, tags);
        InvocationLatency.Record(elapsed.TotalMilliseconds, tags);
    }

    /// <summary>One operation of a component (state get, publish, binding invoke...).</summary>
    public static void RecordComponentOperation(string component, string operation, bool success, TimeSpan elapsed)
    {
        var tags = new TagList { { "app_id", AppId }, { "component", component }, { "operation", operation }, { "success", success } };
        ComponentOperations.Add(1, tags);
        ComponentLatency.Record(elapsed.TotalMilliseconds, tags);
    }

    /// <summary>One message handed to a broker (daprd's egress metrics).</summary>
    public static void RecordPubSubEgress(string component, string topic, bool success, TimeSpan elapsed)
    {
        if (!PubSubEgress.Enabled && !PubSubEgressLatency.Enabled)
        {
            return;
        }

        var tags = new TagList { { "app_id", AppId }, { "component", component }, { "namespace", "" }, { "success", success }, { "topic", topic } };
        PubSubEgress.Add(1, tags);
        PubSubEgressLatency.Record(elapsed.TotalMilliseconds, tags);
    }

    /// <summary>One message processed for the app (daprd's ingress metrics): process_status success, retry or drop.</summary>
    public static void RecordPubSubIngress(string component, string topic, string processStatus, TimeSpan elapsed)
    {
        if (!PubSubIngress.Enabled && !PubSubIngressLatency.Enabled)
        {
            return;
        }

        var tags = new TagList { { "app_id", AppId }, { "component", component }, { "namespace", "" }, { "process_status", processStatus }, { "topic", topic } };
        PubSubIngress.Add(1, tags);
        PubSubIngressLatency.Record(elapsed.TotalMilliseconds, tags);
    }
}
