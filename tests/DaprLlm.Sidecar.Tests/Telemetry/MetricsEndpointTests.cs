using System.Globalization;
using System.Net;
using System.Net.Sockets;
using DaprLlm.Sidecar.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Invocation;

namespace DaprLlm.Sidecar.Tests.Telemetry;

/// <summary>The Prometheus endpoint daprd serves on --metrics-port, scraped over real HTTP from real sidecars.</summary>
public sealed class MetricsEndpointTests
{
    private static readonly string Resources = """
        apiVersion: dapr.io/v1alpha1
        kind: Component
        metadata:
          name: metrics-pubsub
        spec:
          type: pubsub.in-memory
          version: v1
        ---
        apiVersion: dapr.io/v2alpha1
        kind: Subscription
        metadata:
          name: metrics-sub
        spec:
          pubsubname: metrics-pubsub
          topic: metered
          routes:
            default: /sink
        scopes:
        - target
        """;

    [Fact]
    public async Task Counters_of_invocations_and_publishes_are_scraped_and_grow()
    {
        await using var pair = await InvocationPair.StartAsync(Resources);
        using var http = new HttpClient();
        using var client = pair.CallerClient();
        var token = TestContext.Current.CancellationToken;
        using var target = new Dapr.Client.DaprClientBuilder().UseHttpEndpoint(pair.TargetSidecar.HttpEndpoint).UseGrpcEndpoint(pair.TargetSidecar.GrpcEndpoint).Build();

        async Task RoundAsync(int n)
        {
            using var invoked = await pair.InvokeClient().GetAsync("/status/200", token);
            Assert.Equal(HttpStatusCode.OK, invoked.StatusCode);
            await target.PublishEventAsync("metrics-pubsub", "metered", new { n }, token);
            await Deadline.WaitUntilAsync(() => Task.FromResult(pair.Target.Bodies.Count >= n), TimeSpan.FromSeconds(20), $"delivery {n}");
        }

        var sent = """dapr_service_invocation_req_sent_total{app_id="caller",destination_app_id="target",method="status/200"}""";
        var egress = """dapr_component_pubsub_egress_count{app_id="target",component="metrics-pubsub",namespace="",success="true",topic="metered"}""";
        var ingress = """dapr_component_pubsub_ingress_count{app_id="target",component="metrics-pubsub",namespace="",process_status="success",topic="metered"}""";

        // A sidecar records a call once its answer is on the way, a moment after the client or the app has seen it:
        // scrape until the expected count shows (deadline), then check the exact figures.
        await RoundAsync(1);
        var callerFirst = await ScrapeUntilAsync(http, pair.CallerSidecar, "/metrics", sent, 1);
        var targetFirst = await ScrapeUntilAsync(http, pair.TargetSidecar, "/", ingress, 1);
        await RoundAsync(2);
        await RoundAsync(3);
        var callerLater = await ScrapeUntilAsync(http, pair.CallerSidecar, "/", sent, 3);
        var targetLater = await ScrapeUntilAsync(http, pair.TargetSidecar, "/metrics", ingress, 3);

        Assert.Equal(1, Sample(callerFirst, sent));
        Assert.Equal(3, Sample(callerLater, sent));
        Assert.True(Sum(callerLater, "dapr_http_server_request_count") > Sum(callerFirst, "dapr_http_server_request_count"), callerLater);
        Assert.Equal(1, Sample(targetFirst, egress));
        Assert.Equal(3, Sample(targetLater, egress));
        Assert.True(Sample(targetLater, ingress) >= 3, targetLater);
        Assert.Contains("dapr_component_pubsub_ingress_latencies_bucket", targetLater, StringComparison.Ordinal);

        // The target counts its own API calls (the publishes, over gRPC), not the sidecar-to-sidecar hop of each invocation,
        // which has no API route (daprd makes it over its internal gRPC port).
        var published = """dapr_http_server_request_count{app_id="target",method="POST",path="/dapr.proto.runtime.v1.Dapr/PublishEvent",status="200"}""";
        var targetApi = await ScrapeUntilAsync(http, pair.TargetSidecar, "/metrics", published, 3);
        Assert.Equal(3, Sample(targetApi, published));
        Assert.DoesNotContain("path=\"unmatched\"", targetApi, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_metrics_are_served_on_the_metrics_port()
    {
        using var folder = new TempFolder();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("metrics-only-app", folder.Sub("components"), folder.Sub("registry")));
        using var http = new HttpClient();

        using var api = await http.GetAsync($"http://127.0.0.1:{sidecar.MetricsPort}/v1.0/metadata", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
        Assert.Contains("dapr_http_server_request_count", await ScrapeAsync(http, sidecar, "/metrics"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--enable-metrics=false")]
    [InlineData("--enable-metrics false")]
    public async Task Nothing_listens_with_enable_metrics_false(string flag)
    {
        using var folder = new TempFolder();
        var metricsPort = Ports.GetFree();
        var settings = new SidecarSettings("no-metrics-app", folder.Sub("components"), folder.Sub("registry"))
        {
            ExtraArgs = [.. flag.Split(' '), "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture)],
        };
        await using var sidecar = await SidecarProcess.StartAsync(settings);

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(async () => await socket.ConnectAsync(IPAddress.Loopback, metricsPort, TestContext.Current.CancellationToken));

        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.Contains("no Prometheus endpoint (--enable-metrics=false)", sidecar.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_metrics_port_that_is_taken_stops_the_sidecar_at_start_naming_it()
    {
        using var folder = new TempFolder();
        using var holder = new TcpListener(IPAddress.Loopback, Ports.GetFree());
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var settings = new SidecarSettings("taken-metrics-app", folder.Sub("components"), folder.Sub("registry"))
        {
            ExtraArgs = ["--metrics-port", port.ToString(CultureInfo.InvariantCulture)],
        };

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(settings, TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        Assert.Contains($"fatal: Failed to bind to address http://127.0.0.1:{port}", output, StringComparison.Ordinal);
    }

    private static async Task<string> ScrapeAsync(HttpClient http, SidecarProcess sidecar, string path)
    {
        using var response = await http.GetAsync($"http://127.0.0.1:{sidecar.MetricsPort}{path}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>The value of one sample line (name and labels exactly as given), or 0 when absent.</summary>
    private static async Task<string> ScrapeUntilAsync(HttpClient http, SidecarProcess sidecar, string path, string series, double atLeast)
    {
        var scrape = "";
        await Deadline.WaitUntilAsync(async () => Sample(scrape = await ScrapeAsync(http, sidecar, path), series) >= atLeast,
            TimeSpan.FromSeconds(20), $"{series} >= {atLeast}");
        return scrape;
    }

    private static double Sample(string scrape, string series)
    {
        foreach (var line in scrape.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..].Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>The sum of every sample of a metric, whatever its labels (label values may hold braces: "{id}").</summary>
    private static double Sum(string scrape, string metric) =>
        scrape.Split('\n')
            .Where(line => line.StartsWith(metric + "{", StringComparison.Ordinal) || line.StartsWith(metric + " ", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
