using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

// Service invocation overhead of the local sidecar: the same 1 KB POST sent at a fixed rate straight to the
// target app, then through caller sidecar -> target sidecar -> target app. Latency is measured from each
// request's scheduled start (open loop, no coordinated omission). Loopback only, bounded in time.
// --variants "name[@sidecar.dll][:KEY=VALUE,...];..." runs several sidecar pairs (each its own build and extra
// environment) in the same run, so builds and runtime settings are compared against the same baseline; the
// baseline runs before and after them. The key ARGS is not an environment variable: its value is added to the sidecars'
// command line (space-separated), e.g. "off:ARGS=--enable-metrics=false".
var rate = Arg("--rate", 1000);
var seconds = Arg("--seconds", 10);
var configuration = args.Contains("--debug") ? "Debug" : "Release";
var variants = Variant.Parse(ArgText("--variants", "default"));
var root = FindRoot();
var sidecarDll = Path.Combine(root, "src", "DaprLlm.Sidecar", "bin", configuration, "net10.0", "daprllm-sidecar.dll");
if (!File.Exists(sidecarDll))
{
    Console.Error.WriteLine($"Build the sidecar first: dotnet build src/DaprLlm.Sidecar -c {configuration}");
    return 1;
}

var payload = new byte[1024];
Random.Shared.NextBytes(payload);
var appPort = FreePort();
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, appPort));
builder.Logging.ClearProviders();
var target = builder.Build();
target.MapPost("/echo", async (HttpContext context) =>
{
    using var buffer = new MemoryStream();
    await context.Request.Body.CopyToAsync(buffer);
    return Results.Bytes(buffer.ToArray(), "application/octet-stream");
});
await target.StartAsync();

var registry = Path.Combine(Path.GetTempPath(), $"daprllm-bench-{Guid.NewGuid():N}");
Directory.CreateDirectory(Path.Combine(registry, "components"));
using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
var direct = $"http://127.0.0.1:{appPort}/echo";
try
{
    Console.WriteLine($"rate {rate}/s for {seconds}s, 1 KB POST echoed (1 KB back), {Environment.ProcessorCount} cores");
    await RunAsync(http, direct, rate, 2);
    var before = await MeasureBaselineAsync("app -> app (baseline, before)");
    var measured = new List<(Variant Variant, Result Result, Cpu Cpu, double[] Rss)>();
    foreach (var variant in variants)
    {
        measured.Add(await MeasureVariantAsync(variant));
    }

    var after = await MeasureBaselineAsync("app -> app (baseline, after)");
    var p50 = (before.Result.P50 + after.Result.P50) / 2;
    var p99 = (before.Result.P99 + after.Result.P99) / 2;
    var requests = (double)rate * seconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"baseline (mean of before/after): p50 {p50:0.00} ms, p99 {p99:0.00} ms; CPU per request of the bench process (driver + app): {(before.Cpu.Bench + after.Cpu.Bench) / 2 * 1e6 / requests:0} µs"));
    foreach (var (variant, result, cpu, rss) in measured)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{variant.Name}] added latency: p50 +{result.P50 - p50:0.00} ms (x{result.P50 / p50:0.0}), p99 +{result.P99 - p99:0.00} ms (x{result.P99 / p99:0.0})"));

        // CPU per request of each process: where the time goes on 2 cores.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{variant.Name}] CPU per request: bench process {cpu.Bench * 1e6 / requests:0} µs, caller sidecar {cpu.Caller * 1e6 / requests:0} µs, target sidecar {cpu.Target * 1e6 / requests:0} µs"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{variant.Name}] sidecar RSS: caller idle {rss[0]:0} MB, peak under load {rss[2]:0} MB; target idle {rss[1]:0} MB, peak under load {rss[3]:0} MB"));
    }

    return 0;
}
finally
{
    await target.StopAsync();
    Directory.Delete(registry, recursive: true);
}

async Task<(Result Result, Cpu Cpu)> MeasureBaselineAsync(string name)
{
    var cpu = CpuSnapshot(null, null);
    var result = await RunAsync(http, direct, rate, seconds);
    var used = CpuSnapshot(null, null).Minus(cpu);
    Report(name, result);
    return (result, used);
}

async Task<(Variant, Result, Cpu, double[])> MeasureVariantAsync(Variant variant)
{
    using var targetSidecar = StartSidecar($"bench-target-{variant.Name}", appPort, variant, out var targetHttp);
    using var callerSidecar = StartSidecar($"bench-caller-{variant.Name}", null, variant, out var callerHttp);
    try
    {
        await WaitHealthy(http, targetHttp);
        await WaitHealthy(http, callerHttp);
        var viaSidecars = $"http://127.0.0.1:{callerHttp}/v1.0/invoke/bench-target-{variant.Name}/method/echo";

        // Warm the path (JIT, connection pools) before measuring, with pauses so that tiered compilation can install
        // its optimized code (a fresh sidecar on tier-0 code falls behind an open-loop rate and never catches up).
        for (var round = 0; round < 3; round++)
        {
            await RunAsync(http, viaSidecars, rate / 2, 2);
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        var rss = new double[4];
        rss[0] = RssMb(callerSidecar);
        rss[1] = RssMb(targetSidecar);
        using var sampler = new CancellationTokenSource();
        var sampling = Task.Run(async () =>
        {
            while (!sampler.IsCancellationRequested)
            {
                rss[2] = Math.Max(rss[2], RssMb(callerSidecar));
                rss[3] = Math.Max(rss[3], RssMb(targetSidecar));
                try
                {
                    await Task.Delay(200, sampler.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
        var cpu = CpuSnapshot(callerSidecar, targetSidecar);
        var result = await RunAsync(http, viaSidecars, rate, seconds);
        var used = CpuSnapshot(callerSidecar, targetSidecar).Minus(cpu);
        await sampler.CancelAsync();
        await sampling;
        Report($"[{variant.Name}] app -> sidecar -> sidecar -> app", result);
        return (variant, result, used, rss);
    }
    finally
    {
        foreach (var p in new[] { callerSidecar, targetSidecar })
        {
            if (!p.HasExited)
            {
                p.Kill();
                await p.WaitForExitAsync();
            }
        }
    }
}

async Task<Result> RunAsync(HttpClient client, string url, int perSecond, int durationSeconds)
{
    var total = perSecond * durationSeconds;
    var latencies = new double[total];
    var errors = 0;
    var tasks = new Task[total];
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < total; i++)
    {
        var scheduled = i * 1000.0 / perSecond;
        var wait = scheduled - clock.Elapsed.TotalMilliseconds;
        if (wait > 1)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait));
        }

        // Started directly (no Task.Run hop): the driver's CPU counts on 2 cores, for the baseline and the sidecars alike.
        tasks[i] = SendOneAsync(i, scheduled);
    }

    await Task.WhenAll(tasks);
    var elapsed = clock.Elapsed.TotalSeconds;
    Array.Sort(latencies);
    return new Result(latencies[total / 2], latencies[(int)(total * 0.99)], total / elapsed, errors);

    async Task SendOneAsync(int index, double scheduled)
    {
        try
        {
            using var content = new ByteArrayContent(payload);
            using var response = await client.PostAsync(url, content);
            var body = await response.Content.ReadAsByteArrayAsync();
            if (response.StatusCode != HttpStatusCode.OK || body.Length != payload.Length)
            {
                if (Interlocked.Increment(ref errors) == 1)
                {
                    Console.Error.WriteLine($"first error: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            if (Interlocked.Increment(ref errors) == 1)
            {
                Console.Error.WriteLine($"first error: {e.Message}");
            }
        }

        latencies[index] = clock.Elapsed.TotalMilliseconds - scheduled;
    }
}

static Cpu CpuSnapshot(Process? caller, Process? target)
{
    caller?.Refresh();
    target?.Refresh();
    return new Cpu(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, caller?.TotalProcessorTime.TotalSeconds ?? 0,
        target?.TotalProcessorTime.TotalSeconds ?? 0);
}

static void Report(string name, Result r) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-44} p50 {r.P50,7:0.00} ms  p99 {r.P99,7:0.00} ms  {r.Throughput,6:0}/s  errors {r.Errors}"));

Process StartSidecar(string appId, int? port, Variant variant, out int httpPort)
{
    httpPort = FreePort();
    var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { "exec", variant.Dll ?? sidecarDll, "--app-id", appId, "--dapr-http-port", httpPort.ToString(CultureInfo.InvariantCulture),
                 "--dapr-grpc-port", FreePort().ToString(CultureInfo.InvariantCulture), "--resources-path", Path.Combine(registry, "components"),
                 "--registry-path", registry, "--log-level", "warn", "--metrics-port", FreePort().ToString(CultureInfo.InvariantCulture) })
    {
        info.ArgumentList.Add(a);
    }

    if (port is { } p)
    {
        info.ArgumentList.Add("--app-port");
        info.ArgumentList.Add(p.ToString(CultureInfo.InvariantCulture));
    }

    foreach (var (key, value) in variant.Environment)
    {
        if (key == "ARGS")
        {
            foreach (var extra in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                info.ArgumentList.Add(extra);
            }

            continue;
        }

        info.Environment[key] = value;
    }

    var process = Process.Start(info)!;
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, e) =>
    {
        if (e.Data is not null)
        {
            Console.Error.WriteLine($"[{appId}] {e.Data}");
        }
    };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static async Task WaitHealthy(HttpClient http, int port)
{
    var until = DateTime.UtcNow.AddSeconds(60);
    while (DateTime.UtcNow < until)
    {
        try
        {
            using var r = await http.GetAsync($"http://127.0.0.1:{port}/v1.0/healthz");
            if (r.StatusCode == HttpStatusCode.NoContent)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }

        await Task.Delay(50);
    }

    throw new TimeoutException($"sidecar on port {port} did not become healthy");
}

static double RssMb(Process process)
{
    try
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
    catch (IOException)
    {
        return 0;
    }
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static string FindRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DaprLlm.sln")))
    {
        dir = dir.Parent;
    }

    return dir?.FullName ?? throw new InvalidOperationException("DaprLlm.sln not found");
}

int Arg(string name, int fallback) => int.Parse(ArgText(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

string ArgText(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

/// <summary>CPU seconds used so far by the bench process and the two sidecars.</summary>
internal sealed record Cpu(double Bench, double Caller, double Target)
{
    public Cpu Minus(Cpu before) => new(Bench - before.Bench, Caller - before.Caller, Target - before.Target);
}

internal sealed record Result(double P50, double P99, double Throughput, int Errors);

/// <summary>A sidecar pair started from a build (default: this checkout's) with extra environment ("name@dll:KEY=VALUE,KEY=VALUE").</summary>
internal sealed record Variant(string Name, string? Dll, IReadOnlyList<KeyValuePair<string, string>> Environment)
{
    public static IReadOnlyList<Variant> Parse(string text) => [.. text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(part =>
    {
        var colon = part.IndexOf(':', StringComparison.Ordinal);
        var head = colon < 0 ? part : part[..colon];
        var at = head.IndexOf('@', StringComparison.Ordinal);
        var name = at < 0 ? head : head[..at];
        var environment = colon < 0 ? [] : part[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .Select(kv => new KeyValuePair<string, string>(kv[0], kv.Length > 1 ? kv[1] : ""))
            .ToList();
        return new Variant(name, at < 0 ? null : Path.GetFullPath(head[(at + 1)..]), environment);
    })];
}
