using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>Settings for one sidecar process under test.</summary>
public sealed record SidecarSettings(string AppId, string ResourcesPath, string RegistryPath)
{
    public int? AppPort { get; init; }
    public string? ApiToken { get; init; }
    public string? AppApiToken { get; init; }
    public string? ConfigPath { get; init; }
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// A real sidecar process on ephemeral ports. Starts, waits for /v1.0/healthz (with a deadline), keeps its
/// output for diagnostics, can be killed and restarted on the same ports, and is always cleaned up.
/// </summary>
public sealed class SidecarProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private SidecarProcess(SidecarSettings settings)
    {
        Settings = settings;
        HttpPort = Ports.GetFree();
        GrpcPort = Ports.GetFree();
        MetricsPort = Ports.GetFree();
    }

    public SidecarSettings Settings { get; }

    public int HttpPort { get; }

    public int GrpcPort { get; }

    /// <summary>The Prometheus port passed as --metrics-port (unless the test passes its own metrics flags).</summary>
    public int MetricsPort { get; }

    public string HttpEndpoint => $"http://127.0.0.1:{HttpPort}";

    public string GrpcEndpoint => $"http://127.0.0.1:{GrpcPort}";

    public string Output => string.Join(System.Environment.NewLine, _output);

    public bool HasExited => _process?.HasExited ?? true;

    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>Starts a sidecar and waits until it is healthy.</summary>
    public static async Task<SidecarProcess> StartAsync(SidecarSettings settings, TimeSpan? timeout = null)
    {
        var sidecar = new SidecarProcess(settings);
        try
        {
            await sidecar.StartProcessAsync(waitHealthy: true, timeout ?? TimeSpan.FromSeconds(30));
        }
        catch
        {
            // Never leave a process behind when it did not become healthy in time.
            await sidecar.DisposeAsync();
            throw;
        }

        return sidecar;
    }

    /// <summary>Runs a sidecar expected to fail at start; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunExpectingFailureAsync(SidecarSettings settings, TimeSpan timeout)
    {
        await using var sidecar = new SidecarProcess(settings);
        await sidecar.StartProcessAsync(waitHealthy: false, timeout);
        using var cts = new CancellationTokenSource(timeout);
        await sidecar._process!.WaitForExitAsync(cts.Token);
        return (sidecar._process.ExitCode, sidecar.Output);
    }

    /// <summary>Kills the process at once (SIGKILL), as a crash would.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
    }

    /// <summary>Starts the same sidecar again on the same ports after a kill.</summary>
    public Task RestartAsync(TimeSpan? timeout = null) => StartProcessAsync(waitHealthy: true, timeout ?? TimeSpan.FromSeconds(30));

    /// <summary>Environment variables an app (or DaprClient) uses to reach this sidecar.</summary>
    public IReadOnlyDictionary<string, string> AppEnvironment => new Dictionary<string, string>
    {
        ["DAPR_HTTP_ENDPOINT"] = HttpEndpoint,
        ["DAPR_GRPC_ENDPOINT"] = GrpcEndpoint,
        ["DAPR_HTTP_PORT"] = HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["DAPR_GRPC_PORT"] = GrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public async ValueTask DisposeAsync()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _process = null;
    }

    private async Task StartProcessAsync(bool waitHealthy, TimeSpan timeout)
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("already running");
        }

        _process?.Dispose();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(RepoPaths.SidecarDll);
        void Arg(string name, string value)
        {
            info.ArgumentList.Add(name);
            info.ArgumentList.Add(value);
        }

        Arg("--app-id", Settings.AppId);
        Arg("--dapr-http-port", HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Arg("--dapr-grpc-port", GrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Arg("--resources-path", Settings.ResourcesPath);
        Arg("--registry-path", Settings.RegistryPath);
        if (Settings.AppPort is { } appPort)
        {
            Arg("--app-port", appPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (Settings.ConfigPath is { } config)
        {
            Arg("--config", config);
        }

        // A port of its own, as the AppHost gives each sidecar: daprd's default 9090 would be shared by all.
        if (!Settings.ExtraArgs.Any(a => a.StartsWith("--metrics-port", StringComparison.Ordinal) || a.StartsWith("--enable-metrics", StringComparison.Ordinal)))
        {
            Arg("--metrics-port", MetricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        foreach (var extra in Settings.ExtraArgs)
        {
            info.ArgumentList.Add(extra);
        }

        info.Environment.Remove("DAPR_API_TOKEN");
        info.Environment.Remove("APP_API_TOKEN");
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        if (Settings.ApiToken is { } token)
        {
            info.Environment["DAPR_API_TOKEN"] = token;
        }

        if (Settings.AppApiToken is { } appToken)
        {
            info.Environment["APP_API_TOKEN"] = appToken;
        }

        foreach (var (key, value) in Settings.Environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        if (!waitHealthy)
        {
            return;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            await Deadline.WaitUntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"sidecar exited with code {process.ExitCode}:{System.Environment.NewLine}{Output}");
                }

                using var response = await http.GetAsync($"{HttpEndpoint}/v1.0/healthz");
                return response.StatusCode == HttpStatusCode.NoContent;
            }, timeout, $"sidecar '{Settings.AppId}' to be healthy");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}{System.Environment.NewLine}{Output}", e);
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 2000 && _output.TryDequeue(out _))
        {
        }
    }
}
