using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Dapr.Workflow;
using DaprLlm.Bench.Workflows;

// Workflows through the local sidecar with the unchanged Dapr.Workflow SDK (worker and DaprWorkflowClient in
// this process, sidecar as a separate process), on an in-memory actor store and, when redis-server is on the
// PATH, on Redis. Loopback only, bounded in count and time.
// Usage: dotnet run -c Release --project bench/DaprLlm.Bench.Workflows -- [sequential=200] [total=1000] [inFlight=100] [store=all|memory|redis]
var sequential = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
var total = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
var inFlight = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;
var stores = args.Length > 3 ? args[3] : "all";
var phaseLimit = TimeSpan.FromSeconds(60);

var root = FindRoot();
var sidecarDll = Path.Combine(root, "src", "DaprLlm.Sidecar", "bin", "Release", "net10.0", "daprllm-sidecar.dll");
if (!File.Exists(sidecarDll))
{
    sidecarDll = Path.Combine(root, "src", "DaprLlm.Sidecar", "bin", "Debug", "net10.0", "daprllm-sidecar.dll");
}

var direct = MeasureDirect() * 1000; // ms per three activity bodies
Console.WriteLine($"{Environment.ProcessorCount} cores; {sequential} sequential runs, {total} runs with {inFlight} in flight; latency in ms");
Console.WriteLine($"direct call of the 3 activity bodies (same code, no sidecar): {direct * 1000:0.000} µs per workflow's worth");
Console.WriteLine($"{"store",-10}{"workflow",-12}{"p50",9}{"p99",9}{"wf/s",9}");

if (stores is "all" or "memory")
{
    await RunStore("memory", """
        apiVersion: dapr.io/v1alpha1
        kind: Component
        metadata:
          name: wfstore
        spec:
          type: state.in-memory
          version: v1
          metadata:
          - name: actorStateStore
            value: "true"
        """);
}

if (stores is "all" or "redis")
{
    var redisPort = FreePort();
    var redisDir = Directory.CreateTempSubdirectory("daprllm-bench-wf-redis-");
    Process? redis = null;
    try
    {
        redis = Start("redis-server", "--port", $"{redisPort}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", redisDir.FullName);
    }
    catch (System.ComponentModel.Win32Exception)
    {
        Console.WriteLine("redis: skipped (redis-server not on PATH)");
    }

    if (redis is not null)
    {
        try
        {
            await WaitForPort(redisPort);
            await RunStore("redis", $"""
                apiVersion: dapr.io/v1alpha1
                kind: Component
                metadata:
                  name: wfstore
                spec:
                  type: state.redis
                  version: v1
                  metadata:
                  - name: redisHost
                    value: "127.0.0.1:{redisPort}"
                  - name: actorStateStore
                    value: "true"
                """);
        }
        finally
        {
            redis.Kill(entireProcessTree: true);
            await redis.WaitForExitAsync();
            redisDir.Delete(recursive: true);
        }
    }
}

return 0;

async Task RunStore(string name, string componentYaml)
{
    var work = Directory.CreateTempSubdirectory("daprllm-bench-wf-");
    var components = Directory.CreateDirectory(Path.Combine(work.FullName, "components")).FullName;
    File.WriteAllText(Path.Combine(components, "wfstore.yaml"), componentYaml);
    var appPort = FreePort();
    var httpPort = FreePort();
    var grpcPort = FreePort();
    using var sidecar = Start("dotnet", "exec", sidecarDll, "--app-id", "bench-workflows", "--app-port", $"{appPort}",
        "--dapr-http-port", $"{httpPort}", "--dapr-grpc-port", $"{grpcPort}", "--resources-path", components,
        "--registry-path", Path.Combine(work.FullName, "registry"), "--log-level", "warn", "--metrics-port", $"{FreePort()}");
    WebApplication? app = null;
    try
    {
        await WaitForPort(grpcPort);
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, appPort));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{httpPort}",
            ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{grpcPort}",
            ["DAPR_HTTP_PORT"] = $"{httpPort}",
            ["DAPR_GRPC_PORT"] = $"{grpcPort}",
        });
        builder.Services.AddDaprWorkflow(o =>
        {
            o.RegisterWorkflow<ThreeStepWorkflow>();
            o.RegisterWorkflow<EmptyWorkflow>();
            o.RegisterActivity<StepActivity>();
        });
        app = builder.Build();
        await app.StartAsync();
        var client = app.Services.GetRequiredService<DaprWorkflowClient>();

        // Warm-up: JIT, worker stream, connection pools; also proves the worker is connected before timing.
        var warmDeadline = DateTime.UtcNow.AddSeconds(60);
        await RunOne(client, nameof(ThreeStepWorkflow), $"{name}-warm-first", warmDeadline - DateTime.UtcNow);
        await Latencies(client, nameof(ThreeStepWorkflow), $"{name}-warm3", 20);
        await Latencies(client, nameof(EmptyWorkflow), $"{name}-warm0", 20);

        var empty = await Latencies(client, nameof(EmptyWorkflow), $"{name}-empty", sequential);
        var three = await Latencies(client, nameof(ThreeStepWorkflow), $"{name}-three", sequential);
        var rateEmpty = await Throughput(client, nameof(EmptyWorkflow), $"{name}-tp0", total, inFlight);
        var rateThree = await Throughput(client, nameof(ThreeStepWorkflow), $"{name}-tp3", total, inFlight);
        Console.WriteLine($"{name,-10}{"0 activity",-12}{P(empty, 0.5),9:0.00}{P(empty, 0.99),9:0.00}{rateEmpty,9:0}");
        Console.WriteLine($"{name,-10}{"3 activity",-12}{P(three, 0.5),9:0.00}{P(three, 0.99),9:0.00}{rateThree,9:0}");
        var perActivity = (P(three, 0.5) - P(empty, 0.5)) / 3;
        Console.WriteLine($"{name,-10}activity round trip (p50 difference / 3): {perActivity:0.000} ms vs direct call {direct / 3 * 1000:0.000} µs " +
                          $"(+{perActivity - (direct / 3):0.000} ms, x{perActivity / (direct / 3):0}); 3-activity / 0-activity p50 x{P(three, 0.5) / P(empty, 0.5):0.0}, wf/s x{rateThree / rateEmpty:0.00}");
    }
    finally
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        sidecar.Kill(entireProcessTree: true);
        await sidecar.WaitForExitAsync();
        work.Delete(recursive: true);
    }
}

async Task<double[]> Latencies(DaprWorkflowClient client, string workflow, string prefix, int count)
{
    var deadline = DateTime.UtcNow + phaseLimit;
    var result = new List<double>(count);
    for (var i = 0; i < count && DateTime.UtcNow < deadline; i++)
    {
        var started = Stopwatch.GetTimestamp();
        await RunOne(client, workflow, $"{prefix}-{i}", deadline - DateTime.UtcNow);
        result.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    return [.. result.Order()];
}

async Task<double> Throughput(DaprWorkflowClient client, string workflow, string prefix, int count, int concurrency)
{
    var deadline = DateTime.UtcNow + phaseLimit;
    var next = -1;
    var done = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < count && DateTime.UtcNow < deadline)
        {
            await RunOne(client, workflow, $"{prefix}-{i}", deadline - DateTime.UtcNow + TimeSpan.FromSeconds(5));
            Interlocked.Increment(ref done);
        }
    }));
    return done / clock.Elapsed.TotalSeconds;
}

static async Task RunOne(DaprWorkflowClient client, string workflow, string id, TimeSpan timeout)
{
    using var cts = new CancellationTokenSource(timeout);
    await client.ScheduleNewWorkflowAsync(workflow, id, 1);
    var state = await client.WaitForWorkflowCompletionAsync(id, getInputsAndOutputs: false, cts.Token);
    if (state.RuntimeStatus != WorkflowRuntimeStatus.Completed)
    {
        throw new InvalidOperationException($"workflow {id} ended {state.RuntimeStatus}");
    }
}

// Seconds per call of the three activity bodies in sequence, invoked directly.
static double MeasureDirect()
{
    const int n = 1_000_000;
    var activity = new StepActivity();
    var x = 0;
    for (var i = 0; i < 10_000; i++)
    {
        x = activity.RunAsync(null!, x).Result;
    }

    var clock = Stopwatch.StartNew();
    for (var i = 0; i < n; i++)
    {
        x = activity.RunAsync(null!, activity.RunAsync(null!, activity.RunAsync(null!, x).Result).Result).Result;
    }

    GC.KeepAlive(x);
    return clock.Elapsed.TotalSeconds / n;
}

static double P(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * q))];

static Process Start(string file, params string[] arguments)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in arguments)
    {
        info.ArgumentList.Add(a);
    }

    var process = Process.Start(info)!;
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, _) => { };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static async Task WaitForPort(int port)
{
    var until = DateTime.UtcNow.AddSeconds(60);
    while (true)
    {
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            return;
        }
        catch (SocketException) when (DateTime.UtcNow < until)
        {
            await Task.Delay(100);
        }
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
