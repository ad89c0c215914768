using System.Collections.Concurrent;
using System.Diagnostics;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Audit.Tests.Infrastructure;

/// <summary>The real audit app (its built DLL) as a separate process, so a test can kill it like a crash and restart it.</summary>
public sealed class AuditAppProcess(int port, IReadOnlyDictionary<string, string> environment) : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    public int Port { get; } = port;

    public string BaseAddress => $"http://127.0.0.1:{Port}";

    public string Output => string.Join(Environment.NewLine, _output);

    public static string Dll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            var path = Path.Combine(RepoPaths.Root, "src", "DaprLlm.Audit", "bin", configuration, "net10.0", "DaprLlm.Audit.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build the audit app first", path);
        }
    }

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(Dll)!,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(Dll);
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        info.Environment["ASPNETCORE_URLS"] = BaseAddress;
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Deadline.WaitUntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"audit app exited with {process.ExitCode}: {Output}");
            }

            // Ready = keys loaded from the secret store and the regional writers started.
            return Output.Contains("Audit trail ready", StringComparison.Ordinal) && (await http.GetAsync($"{BaseAddress}/health")).IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(90), "the audit app to be ready");
    }

    /// <summary>SIGKILL, as a crash would: no graceful shutdown, no final checkpoint.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }

        _output.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
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
