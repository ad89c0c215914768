using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Review.Tests.Infrastructure;

/// <summary>
/// The real inference app (built by the project reference, same configuration as the tests) as its own process:
/// it carries the GPU build of ONNX Runtime, which must not share a folder or process with the safety app's CPU build.
/// Only the safety graph loads at start. It can be paused (SIGSTOP: a hung service) and resumed, or killed.
/// </summary>
public sealed class InferenceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private InferenceProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Output => string.Join(Environment.NewLine, _output);

    public static string Dll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            var path = Path.Combine(RepoPaths.Root, "src", "DaprLlm.Inference", "bin", configuration, "net10.0", "DaprLlm.Inference.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build the inference app first", path);
        }
    }

    /// <summary>Starts the app on <paramref name="port"/> (the sidecar's --app-port) and waits for its readiness.</summary>
    public static async Task<InferenceProcess> StartAsync(int port, IReadOnlyDictionary<string, string> sidecarEnvironment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(Dll)!,
        };
        foreach (var arg in new[]
        {
            "exec", Dll, "--urls", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            "--Inference:Models:daprllm-demo:Warm=false", "--Inference:Models:all-minilm-l6-v2:Warm=false", "--Logging:LogLevel:Default=Warning",
        })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in sidecarEnvironment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var app = new InferenceProcess(process, port);
        process.OutputDataReceived += (_, e) => app.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => app.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            await Deadline.WaitUntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"the inference app exited ({process.ExitCode}):{Environment.NewLine}{app.Output}");
                }

                using var response = await http.GetAsync($"http://127.0.0.1:{port}/health");
                return response.IsSuccessStatusCode;
            }, timeout, "the inference app's readiness");
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    /// <summary>SIGSTOP: the app keeps its connections but answers nothing, as a hung service would.</summary>
    public void Pause() => Signal("STOP");

    public void Resume() => Signal("CONT");

    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            Resume();
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private void Signal(string signal)
    {
        if (_process.HasExited)
        {
            return;
        }

        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]))!;
        kill.WaitForExit();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }
}
