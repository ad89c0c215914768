using System.Globalization;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Security;

public sealed class CommandLineTests
{
    [Fact]
    public async Task Daprd_flags_and_unknown_flags_are_accepted_and_logged()
    {
        using var folder = new TempFolder();
        var settings = new SidecarSettings("flags-app", folder.Sub("components"), folder.Sub("registry"))
        {
            ExtraArgs =
            [
                "--placement-host-address", "localhost:50005", "--enable-mtls", "--app-max-concurrency", "10",
                "--log-level", "info", "--enable-api-logging", "--metrics-port", Ports.GetFree().ToString(CultureInfo.InvariantCulture), "--no-such-daprd-flag", "some-value",
            ],
        };

        await using var sidecar = await SidecarProcess.StartAsync(settings);

        await Deadline.WaitUntilAsync(() => sidecar.Output.Contains("--no-such-daprd-flag", StringComparison.Ordinal), TimeSpan.FromSeconds(10),
            "the unknown flag to be logged");
        Assert.Contains("--placement-host-address", sidecar.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Flag --metrics-port is accepted", sidecar.Output, StringComparison.Ordinal);
        Assert.False(sidecar.HasExited);
    }

    [Fact]
    public async Task Log_level_debug_shows_debug_lines_and_error_hides_info_lines()
    {
        using var folder = new TempFolder();
        SidecarSettings Settings(string appId, string level) =>
            new(appId, folder.Sub("components"), folder.Sub("registry")) { ExtraArgs = ["--log-level", level] };
        await using var debug = await SidecarProcess.StartAsync(Settings("debug-log-app", "debug"));
        await using var error = await SidecarProcess.StartAsync(Settings("error-log-app", "error"));
        using var http = new HttpClient();

        // Invoking an unknown app id logs the failure at debug level (the caller gets the error in the answer).
        foreach (var sidecar in new[] { debug, error })
        {
            using var response = await http.PostAsync($"{sidecar.HttpEndpoint}/v1.0/invoke/nobody-here/method/x", null, TestContext.Current.CancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.InternalServerError, response.StatusCode);
        }

        await Deadline.WaitUntilAsync(() => debug.Output.Contains("Service invocation of nobody-here failed", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "the debug line");
        Assert.Contains("Starting DaprLlm sidecar for app id debug-log-app", debug.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Service invocation of nobody-here failed", error.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Starting DaprLlm sidecar", error.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Log_as_json_writes_one_structured_json_object_per_line()
    {
        using var folder = new TempFolder();
        var settings = new SidecarSettings("json-log-app", folder.Sub("components"), folder.Sub("registry")) { ExtraArgs = ["--log-as-json"] };
        await using var sidecar = await SidecarProcess.StartAsync(settings);

        await Deadline.WaitUntilAsync(() => sidecar.Output.Contains("Metrics: Prometheus endpoint", StringComparison.Ordinal), TimeSpan.FromSeconds(10),
            "the start lines");
        var lines = sidecar.Output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries)
            .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement).ToList();
        var start = lines.Single(l => l.GetProperty("Message").GetString()!.StartsWith("Starting DaprLlm sidecar", StringComparison.Ordinal));

        Assert.Equal("Information", start.GetProperty("LogLevel").GetString());
        Assert.Equal("DaprLlm.Sidecar.Telemetry.TelemetryStartup", start.GetProperty("Category").GetString());
        Assert.Equal("json-log-app", start.GetProperty("State").GetProperty("AppId").GetString());
        Assert.Equal(sidecar.HttpPort, start.GetProperty("State").GetProperty("HttpPort").GetInt32());
        Assert.EndsWith("Z", start.GetProperty("Timestamp").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resources_path_can_be_repeated_and_every_folder_is_loaded()
    {
        using var folder = new TempFolder();
        foreach (var (sub, name) in new[] { ("first", "store-one"), ("second", "store-two") })
        {
            folder.Write($"{sub}/{name}.yaml", $"""
                apiVersion: dapr.io/v1alpha1
                kind: Component
                metadata:
                  name: {name}
                spec:
                  type: state.in-memory
                  version: v1
                """);
        }

        var settings = new SidecarSettings("paths-app", folder.Sub("first"), folder.Sub("registry")) { ExtraArgs = ["--resources-path", folder.Sub("second")] };
        await using var sidecar = await SidecarProcess.StartAsync(settings);
        using var client = new Dapr.Client.DaprClientBuilder().UseHttpEndpoint(sidecar.HttpEndpoint).UseGrpcEndpoint(sidecar.GrpcEndpoint).Build();

        var metadata = await client.GetMetadataAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["store-one", "store-two"], metadata.Components.Select(c => c.Name).Order());
    }

    [Fact]
    public async Task Enable_api_logging_logs_each_http_and_grpc_api_call()
    {
        using var folder = new TempFolder();
        var settings = new SidecarSettings("api-log-app", folder.Sub("components"), folder.Sub("registry")) { ExtraArgs = ["--enable-api-logging"] };
        await using var sidecar = await SidecarProcess.StartAsync(settings);
        using var http = new HttpClient();
        using var client = new Dapr.Client.DaprClientBuilder().UseHttpEndpoint(sidecar.HttpEndpoint).UseGrpcEndpoint(sidecar.GrpcEndpoint).Build();

        using var metadata = await http.GetAsync($"{sidecar.HttpEndpoint}/v1.0/metadata", TestContext.Current.CancellationToken);
        await client.GetMetadataAsync(TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.OK, metadata.StatusCode);
        await Deadline.WaitUntilAsync(() => sidecar.Output.Contains("GET /v1.0/metadata", StringComparison.Ordinal) &&
            sidecar.Output.Contains("POST /dapr.proto.runtime.v1.Dapr/GetMetadata", StringComparison.Ordinal), TimeSpan.FromSeconds(10),
            "both API calls to be logged");
    }

    [Fact]
    public async Task Sidecar_listens_on_loopback_only_by_default()
    {
        using var folder = new TempFolder();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("loopback-app", folder.Sub("components"), folder.Sub("registry")));

        var addresses = ListeningAddresses(sidecar.HttpPort).Concat(ListeningAddresses(sidecar.GrpcPort)).ToList();

        Assert.NotEmpty(addresses);
        Assert.All(addresses, a => Assert.True(System.Net.IPAddress.IsLoopback(a), $"{a} is not a loopback address"));
    }

    // Local addresses of listening sockets on a port, from /proc/net/tcp and tcp6 (Linux).
    private static IEnumerable<System.Net.IPAddress> ListeningAddresses(int port)
    {
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" }.Where(File.Exists))
        {
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var local = fields[1].Split(':');
                if (fields[3] != "0A" || int.Parse(local[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture) != port)
                {
                    continue;
                }

                var bytes = Convert.FromHexString(local[0]);

                // /proc writes each 32-bit word in host (little-endian) order.
                for (var i = 0; i < bytes.Length; i += 4)
                {
                    Array.Reverse(bytes, i, 4);
                }

                yield return new System.Net.IPAddress(bytes);
            }
        }
    }
}
