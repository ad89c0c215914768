using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using DaprLlm.Bench.Actors;

// Actor method calls (non-remoting JSON, as any SDK sends them) through the sidecar, against the same call
// sent straight to the app's actor endpoint in the same run. Loopback only, bounded in count and time.
var calls = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
var root = FindRoot();
var sidecarDll = Path.Combine(root, "src", "DaprLlm.Sidecar", "bin", "Release", "net10.0", "daprllm-sidecar.dll");
if (!File.Exists(sidecarDll))
{
    sidecarDll = Path.Combine(root, "src", "DaprLlm.Sidecar", "bin", "Debug", "net10.0", "daprllm-sidecar.dll");
}

var work = Directory.CreateTempSubdirectory("daprllm-bench-actors-");
File.WriteAllText(Path.Combine(work.FullName, "store.yaml"), """
    apiVersion: dapr.io/v1alpha1
    kind: Component
    metadata:
      name: actorstore
    spec:
      type: state.in-memory
      version: v1
      metadata:
      - name: actorStateStore
        value: "true"
    """);
var appPort = FreePort();
var httpPort = FreePort();
var grpcPort = FreePort();
var sidecarInfo = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
foreach (var a in new[] { "exec", sidecarDll, "--app-id", "bench-actors", "--app-port", $"{appPort}", "--dapr-http-port", $"{httpPort}",
             "--dapr-grpc-port", $"{grpcPort}", "--resources-path", work.FullName, "--registry-path", Path.Combine(work.FullName, "registry"), "--log-level", "warn",
             "--metrics-port", $"{FreePort()}" })
{
    sidecarInfo.ArgumentList.Add(a);
}

using var sidecar = Process.Start(sidecarInfo)!;
sidecar.OutputDataReceived += (_, _) => { };
sidecar.ErrorDataReceived += (_, _) => { };
sidecar.BeginOutputReadLine();
sidecar.BeginErrorReadLine();

var builder = WebApplication.CreateBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, appPort));
builder.Services.AddActors(o =>
{
    o.Actors.RegisterActor<PingActor>();
    o.HttpEndpoint = $"http://127.0.0.1:{httpPort}";
});
var app = builder.Build();
app.MapActorsHandlers();
await app.StartAsync();

using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 64 });
var viaSidecar = $"http://127.0.0.1:{httpPort}/v1.0/actors/{nameof(PingActor)}";
var direct = $"http://127.0.0.1:{appPort}/actors/{nameof(PingActor)}";
try
{
    var until = DateTime.UtcNow.AddSeconds(60);
    while (true)
    {
        try
        {
            using var r = await Put(viaSidecar, "warm");
            if (r.IsSuccessStatusCode)
            {
                break;
            }
        }
        catch (HttpRequestException) when (DateTime.UtcNow < until)
        {
        }

        if (DateTime.UtcNow >= until)
        {
            throw new TimeoutException("the sidecar did not answer actor calls within 60 s");
        }

        await Task.Delay(100);
    }

    // Warm both paths (JIT, connection pools, 1,000 activations).
    await Run(direct, calls / 4, 16, 1000);
    await Run(viaSidecar, calls / 4, 16, 1000);

    Console.WriteLine($"{calls} non-remoting actor calls per scenario; latency in ms; ratio = sidecar / direct");
    Console.WriteLine($"{"scenario",-34}{"path",-9}{"p50",8}{"p99",8}{"calls/s",10}");
    foreach (var (name, concurrency, ids) in new[] { ("one id, sequential", 1, 1), ("one id, 16 concurrent", 16, 1), ("1,000 ids, 16 concurrent", 16, 1000) })
    {
        var d = await Run(direct, calls, concurrency, ids);
        var s = await Run(viaSidecar, calls, concurrency, ids);
        Console.WriteLine($"{name,-34}{"direct",-9}{d.P50,8:0.00}{d.P99,8:0.00}{d.Rate,10:0}");
        Console.WriteLine($"{name,-34}{"sidecar",-9}{s.P50,8:0.00}{s.P99,8:0.00}{s.Rate,10:0}   p50 x{s.P50 / d.P50:0.0}, calls/s x{s.Rate / d.Rate:0.00}");
    }
}
finally
{
    await app.StopAsync();
    sidecar.Kill(entireProcessTree: true);
    await sidecar.WaitForExitAsync();
    work.Delete(recursive: true);
}

return 0;

async Task<(double P50, double P99, double Rate)> Run(string baseUrl, int count, int concurrency, int ids)
{
    var latencies = new double[count];
    var next = -1;
    var total = Stopwatch.StartNew();
    var deadline = DateTime.UtcNow.AddSeconds(30);
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < count && DateTime.UtcNow < deadline)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await Put(baseUrl, $"a{i % ids}");
            response.EnsureSuccessStatusCode();
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
    }));
    var done = Math.Min(count, next);
    var sorted = latencies.Take(done).Where(l => l > 0).Order().ToArray();
    return (sorted[sorted.Length / 2], sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.99))], sorted.Length / total.Elapsed.TotalSeconds);
}

Task<HttpResponseMessage> Put(string baseUrl, string id) =>
    http.PutAsync($"{baseUrl}/{id}/method/{nameof(IPingActor.PingAsync)}", new StringContent("1", Encoding.UTF8, "application/json"));

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
