using System.CommandLine;

namespace DaprLlm.Sidecar.Hosting;

/// <summary>Parses daprd's command line. Flags daprd knows but we do not act on are accepted and logged.</summary>
public static class SidecarCommandLine
{
    /// <summary>daprd flags that take a value and are accepted without effect here.</summary>
    private static readonly string[] IgnoredValueFlags =
    [
        "--placement-host-address", "--scheduler-host-address", "--mode", "--control-plane-address",
        "--sentry-address", "--profile-port", "--app-health-check-path",
        "--app-health-probe-interval", "--app-health-probe-timeout", "--app-health-threshold",
        "--dapr-listen-addresses", "--dapr-public-port", "--dapr-public-listen-address",
        "--dapr-graceful-shutdown-seconds", "--dapr-block-shutdown-duration", "--kubernetes-namespace",
        "--components-path", "--allowed-origins", "--unix-domain-socket", "--dapr-http-read-buffer-size",
        "--dapr-http-max-request-size", "--metrics-exporter-type", "--trust-domain", "--trust-anchors-file",
        "--identity", "--config-dir",
    ];

    private static readonly string[] IgnoredSwitches =
    [
        "--enable-profiling", "--enable-mtls", "--enable-app-health-check", "--enable-metrics-tags",
    ];

    /// <summary>Parses <paramref name="args"/>; returns null and writes the error when they are invalid.</summary>
    public static SidecarOptions? Parse(string[] args, TextWriter error)
    {
        var appId = new Option<string>("--app-id") { Description = "The app id (required)." };
        var appPort = new Option<int?>("--app-port") { Description = "The port the app listens on." };
        var appProtocol = new Option<string>("--app-protocol") { DefaultValueFactory = _ => "http" };
        var appChannelAddress = new Option<string>("--app-channel-address") { DefaultValueFactory = _ => "127.0.0.1" };
        var httpPort = new Option<int>("--dapr-http-port") { DefaultValueFactory = _ => 3500 };
        var grpcPort = new Option<int>("--dapr-grpc-port") { DefaultValueFactory = _ => 50001 };
        var internalGrpcPort = new Option<int?>("--dapr-internal-grpc-port");
        var metricsPort = new Option<int?>("--metrics-port");
        var enableMetrics = new Option<bool>("--enable-metrics") { DefaultValueFactory = _ => true };
        var resourcesPath = new Option<string[]>("--resources-path") { AllowMultipleArgumentsPerToken = false };
        var config = new Option<string?>("--config");
        var logLevel = new Option<string>("--log-level") { DefaultValueFactory = _ => "info" };
        var apiLogging = new Option<bool>("--enable-api-logging");
        var logAsJson = new Option<bool>("--log-as-json");
        var maxConcurrency = new Option<int>("--app-max-concurrency") { DefaultValueFactory = _ => -1 };
        var listenAddress = new Option<string>("--dapr-listen-address") { DefaultValueFactory = _ => "127.0.0.1" };
        var maxBody = new Option<int>("--max-body-size") { DefaultValueFactory = _ => 4 };
        var registry = new Option<string?>("--registry-path") { Description = "Local name-resolution folder (DaprLlm extension)." };

        var root = new RootCommand("DaprLlm local sidecar: a daprd-compatible Dapr runtime for development and CI.")
        {
            appId, appPort, appProtocol, appChannelAddress, httpPort, grpcPort, internalGrpcPort, metricsPort,
            enableMetrics, resourcesPath, config, logLevel, apiLogging, logAsJson, maxConcurrency, listenAddress, maxBody, registry,
        };
        var ignored = new List<string>();
        foreach (var flag in IgnoredValueFlags)
        {
            root.Options.Add(new Option<string?>(flag) { Hidden = true });
        }

        foreach (var flag in IgnoredSwitches)
        {
            root.Options.Add(new Option<bool>(flag) { Hidden = true });
        }

        // daprd's flags also come with a single dash (Go flag package); normalise them.
        var normalized = args.Select(a => a.StartsWith('-') && !a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2 ? "-" + a : a)
            .ToArray();
        var result = root.Parse(normalized);
        foreach (var unmatched in result.UnmatchedTokens)
        {
            ignored.Add(unmatched);
        }

        var realErrors = result.Errors.Where(e => !e.Message.Contains("Unrecognized", StringComparison.OrdinalIgnoreCase)).ToList();
        if (realErrors.Count > 0)
        {
            foreach (var e in realErrors)
            {
                error.WriteLine($"error: {e.Message}");
            }

            return null;
        }

        foreach (var option in root.Options.Where(o => o.Hidden))
        {
            if (result.GetResult(option) is { Implicit: false })
            {
                ignored.Add(option.Name);
            }
        }

        var id = result.GetValue(appId);
        if (string.IsNullOrWhiteSpace(id))
        {
            error.WriteLine("error: --app-id is required");
            return null;
        }

        if (id.Contains('.', StringComparison.Ordinal))
        {
            // As daprd: callers read "a.b" as app "a" in namespace "b", so such an app could never be reached.
            error.WriteLine($"error: --app-id '{id}' cannot contain dots");
            return null;
        }

        // daprd also speaks grpc, grpcs and h2c to its app; this sidecar's app channel is HTTP/1.1 only: refuse at start
        // rather than talk HTTP to a gRPC app.
        var protocol = result.GetValue(appProtocol) ?? "http";
        if (protocol is not ("http" or "https"))
        {
            error.WriteLine($"error: --app-protocol {protocol} is not supported by the DaprLlm local sidecar (supported: http, https)");
            return null;
        }

        var registryPath = result.GetValue(registry)
            ?? Environment.GetEnvironmentVariable("DAPRLLM_SIDECAR_REGISTRY")
            ?? Path.Combine(Path.GetTempPath(), "daprllm-sidecar-registry");

        return new SidecarOptions
        {
            AppId = id,
            AppPort = result.GetValue(appPort) is > 0 and var p ? p : null,
            AppProtocol = protocol,
            AppChannelAddress = result.GetValue(appChannelAddress) ?? "127.0.0.1",
            DaprHttpPort = result.GetValue(httpPort),
            DaprGrpcPort = result.GetValue(grpcPort),
            DaprInternalGrpcPort = result.GetValue(internalGrpcPort),
            MetricsPort = result.GetValue(metricsPort),
            EnableMetrics = result.GetValue(enableMetrics),
            ResourcesPaths = result.GetValue(resourcesPath) ?? [],
            ConfigPath = result.GetValue(config),
            LogLevel = result.GetValue(logLevel) ?? "info",
            EnableApiLogging = result.GetValue(apiLogging),
            LogAsJson = result.GetValue(logAsJson),
            AppMaxConcurrency = result.GetValue(maxConcurrency),
            ListenAddress = result.GetValue(listenAddress) ?? "127.0.0.1",
            MaxBodySizeBytes = Math.Max(1, result.GetValue(maxBody)) * 1024 * 1024,
            ApiToken = NullIfEmpty(Environment.GetEnvironmentVariable("DAPR_API_TOKEN")),
            AppApiToken = NullIfEmpty(Environment.GetEnvironmentVariable("APP_API_TOKEN")),
            RegistryPath = registryPath,
            IgnoredFlags = ignored,
        };
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
