using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

// Service invocation overhead of the local sidecar: the same 1 KB POST sent at a fixed rate straight to the
// target app, then through caller sidecar -> target sidecar -> target app. Latency is measured from each
// request's scheduled start (open loop, no coordinated omission). Loopback only, bounded in time.
var rate = Arg("--rate", 1000);
var seconds = Arg("--seconds", 10);
var configuration = args.Contains("--debug") ? "Debug" : "Release";
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
using var targetSidecar = StartSidecar("bench-target", appPort, out var targetHttp);
using var callerSidecar = StartSidecar("bench-caller", null, out var callerHttp);
try
{
    using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
    await WaitHealthy(http, targetHttp);
    await WaitHealthy(http, callerHttp);
    var direct = $"http://127.0.0.1:{appPort}/echo";
    var viaSidecars = $"http://127.0.0.1:{callerHttp}/v1.0/invoke/bench-target/method/echo";

    // Warm both paths (JIT, connection pools) before measuring.
    await RunAsync(http, direct, rate, 2);
    await RunAsync(http, viaSidecars, rate, 2);
    var idleCaller = RssMb(callerSidecar);
    var idleTarget = RssMb(targetSidecar);

    var baseline = await RunAsync(http, direct, rate, seconds);
    var peak = new double[2];
    using var sampler = new CancellationTokenSource();
    var sampling = Task.Run(async () =>
    {
        while (!sampler.IsCancellationRequested)
        {
            peak[0] = Math.Max(peak[0], RssMb(callerSidecar));
            peak[1] = Math.Max(peak[1], RssMb(targetSidecar));
            try
            {
                await Task.Delay(200, sampler.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    });
    var sidecar = await RunAsync(http, viaSidecars, rate, seconds);
    await sampler.CancelAsync();
    await sampling;

    Console.WriteLine($"rate {rate}/s for {seconds}s, 1 KB POST echoed (1 KB back), {Environment.ProcessorCount} cores");
    Report("app -> app (baseline)", baseline);
    Report("app -> sidecar -> sidecar -> app", sidecar);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"added latency: p50 +{sidecar.P50 - baseline.P50:0.00} ms (x{sidecar.P50 / baseline.P50:0.0}), p99 +{sidecar.P99 - baseline.P99:0.00} ms (x{sidecar.P99 / baseline.P99:0.0})"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"sidecar RSS: caller idle {idleCaller:0} MB, peak under load {peak[0]:0} MB; target idle {idleTarget:0} MB, peak under load {peak[1]:0} MB"));
    return 0;
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

    await target.StopAsync();
    Directory.Delete(registry, recursive: true);
}

async Task<Result> RunAsync(HttpClient http, string url, int perSecond, int durationSeconds)
{
    var total = perSecond * durationSeconds;
    var latencies = new double[total];
    var errors = 0;
    var tasks = new List<Task>(total);
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < total; i++)
    {
        var scheduled = i * 1000.0 / perSecond;
        var wait = scheduled - clock.Elapsed.TotalMilliseconds;
        if (wait > 1)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait));
        }

        var index = i;
        tasks.Add(Task.Run(async () =>
        {
            try
            {
                using var content = new ByteArrayContent(payload);
                using var response = await http.PostAsync(url, content);
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
        }));
    }

    await Task.WhenAll(tasks);
    var elapsed = clock.Elapsed.TotalSeconds;
    Array.Sort(latencies);
    return new Result(latencies[total / 2], latencies[(int)(total * 0.99)], total / elapsed, errors);
}

static void Report(string name, Result r) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-36} p50 {r.P50,7:0.00} ms  p99 {r.P99,7:0.00} ms  {r.Throughput,6:0}/s  errors {r.Errors}"));

Process StartSidecar(string appId, int? port, out int httpPort)
{
    httpPort = FreePort();
    var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { "exec", sidecarDll, "--app-id", appId, "--dapr-http-port", httpPort.ToString(CultureInfo.InvariantCulture),
                 "--dapr-grpc-port", FreePort().ToString(CultureInfo.InvariantCulture), "--resources-path", Path.Combine(registry, "components"),
                 "--registry-path", registry, "--log-level", "warn" })
    {
        info.ArgumentList.Add(a);
    }

    if (port is { } p)
    {
        info.ArgumentList.Add("--app-port");
        info.ArgumentList.Add(p.ToString(CultureInfo.InvariantCulture));
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
    var until = DateTime.UtcNow.AddSeconds(30);
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

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

internal sealed record Result(double P50, double P99, double Throughput, int Errors);
