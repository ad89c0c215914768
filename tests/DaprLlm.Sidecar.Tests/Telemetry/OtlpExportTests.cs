using DaprLlm.Sidecar.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Invocation;

namespace DaprLlm.Sidecar.Tests.Telemetry;

public sealed class OtlpExportTests
{
    private static readonly Dictionary<string, string> FastExport = new()
    {
        ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Exports_invocation_spans_and_api_metrics_over_otlp_when_the_environment_names_an_endpoint()
    {
        await using var collector = await OtlpCollector.StartAsync();
        var environment = new Dictionary<string, string>(FastExport)
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        };
        await using var pair = await InvocationPair.StartAsync(
            callerSettings: s => s with { Environment = environment },
            targetSettings: s => s with { Environment = environment });
        using var http = pair.InvokeClient();

        using var response = await http.GetAsync("http://target/echo/traced", Ct);

        await Deadline.WaitUntilAsync(() => collector.Received("traces", "caller-dapr", "InvokeService/target"), TimeSpan.FromSeconds(15),
            "the caller sidecar's invocation span");
        await Deadline.WaitUntilAsync(() => collector.Received("traces", "target-dapr", "CallLocal/target/echo/traced"), TimeSpan.FromSeconds(15),
            "the target sidecar's span");
        // The call is answered ahead of endpoint routing (InvocationFastPath); its API metric still carries the route.
        await Deadline.WaitUntilAsync(() => collector.Received("metrics", "caller-dapr", "dapr_http_server_request_count", "dapr_service_invocation_req_sent_total",
                "/v1.0/invoke/{id}/method/{**method}"),
            TimeSpan.FromSeconds(15), "the caller sidecar's API and invocation metrics, tagged with the invoke route");
        await Deadline.WaitUntilAsync(() => collector.Received("logs", "caller-dapr", "Registered app id"), TimeSpan.FromSeconds(15),
            "the caller sidecar's structured logs");
    }

    [Fact]
    public async Task Configuration_tracing_section_selects_the_endpoint_and_service_name_honours_otel_service_name()
    {
        await using var collector = await OtlpCollector.StartAsync();
        using var folder = new TempFolder();
        var config = folder.Write("config.yaml", $"""
            apiVersion: dapr.io/v1alpha1
            kind: Configuration
            metadata:
              name: tracing
            spec:
              tracing:
                samplingRate: "1"
                otel:
                  endpointAddress: "127.0.0.1:{collector.Port}"
                  isSecure: false
                  protocol: http
            """);
        await using var pair = await InvocationPair.StartAsync(callerSettings: s => s with
        {
            ConfigPath = config,
            Environment = new Dictionary<string, string>(FastExport) { ["OTEL_SERVICE_NAME"] = "custom-caller" },
        });
        using var http = pair.InvokeClient();

        using var response = await http.GetAsync("http://target/echo/configured", Ct);

        await Deadline.WaitUntilAsync(() => collector.Received("traces", "custom-caller", "InvokeService/target"), TimeSpan.FromSeconds(15),
            "spans exported to the Configuration's endpoint");
    }

    [Fact]
    public async Task Sampling_rate_zero_exports_no_spans_but_still_exports_metrics()
    {
        await using var collector = await OtlpCollector.StartAsync();
        using var folder = new TempFolder();
        var config = folder.Write("config.yaml", $"""
            apiVersion: dapr.io/v1alpha1
            kind: Configuration
            metadata:
              name: tracing
            spec:
              tracing:
                samplingRate: "0"
                otel:
                  endpointAddress: "127.0.0.1:{collector.Port}"
                  protocol: http
            """);
        await using var pair = await InvocationPair.StartAsync(callerSettings: s => s with { ConfigPath = config, Environment = FastExport });
        using var http = pair.InvokeClient();

        using var response = await http.GetAsync("http://target/echo/unsampled", Ct);

        await Deadline.WaitUntilAsync(() => collector.Received("metrics", "caller-dapr", "dapr_service_invocation_req_sent_total"),
            TimeSpan.FromSeconds(15), "metrics of the unsampled call");
        Assert.False(collector.ReceivedAny("traces", "InvokeService/target"));
    }
}
