namespace DaprLlm.Sidecar.Hosting;

/// <summary>What the sidecar was started with: daprd's flags plus the environment daprd reads.</summary>
public sealed class SidecarOptions
{
    public required string AppId { get; init; }
    public int? AppPort { get; init; }
    public string AppProtocol { get; init; } = "http";
    public string AppChannelAddress { get; init; } = "127.0.0.1";
    public int DaprHttpPort { get; init; } = 3500;
    public int DaprGrpcPort { get; init; } = 50001;
    public int? DaprInternalGrpcPort { get; init; }
    public int? MetricsPort { get; init; }
    public bool EnableMetrics { get; init; } = true;
    public IReadOnlyList<string> ResourcesPaths { get; init; } = [];
    public string? ConfigPath { get; init; }
    public string LogLevel { get; init; } = "info";
    public bool EnableApiLogging { get; init; }

    /// <summary>--log-as-json: one JSON object per log line, with the message template's fields (for log collectors).</summary>
    public bool LogAsJson { get; init; }
    public string ListenAddress { get; init; } = "127.0.0.1";
    public int AppMaxConcurrency { get; init; } = -1;
    public int MaxBodySizeBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>DAPR_API_TOKEN: when set, every API call must carry it in the dapr-api-token header.</summary>
    public string? ApiToken { get; init; }

    /// <summary>APP_API_TOKEN: sent to the app on every call the sidecar makes to it.</summary>
    public string? AppApiToken { get; init; }

    /// <summary>
    /// Folder shared by all sidecars of one run, where each announces its app id and ports
    /// (local name resolution, the role mDNS plays for daprd in self-hosted mode).
    /// </summary>
    public required string RegistryPath { get; init; }

    /// <summary>Flags daprd accepts that this sidecar does not act on; logged at start.</summary>
    public IReadOnlyList<string> IgnoredFlags { get; init; } = [];

    public Uri? AppBaseAddress => AppPort is { } port ? new Uri($"{(AppProtocol == "https" ? "https" : "http")}://{AppChannelAddress}:{port}/") : null;
}
