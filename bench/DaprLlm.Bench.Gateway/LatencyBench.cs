using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>
/// The gateway's own added latency on loopback at a fixed request rate (open loop), against a fast mock backend:
/// direct to the mock (baseline), through an nginx reverse proxy (the floor of a proxy hop), and through the gateway
/// with audit publishing on and off. The gateway is the production binary (Release build, its own process) with its
/// real local sidecar and Redis for keys, quota actors and pub/sub (DAPR_GRPC_ENDPOINT). Its DAPR_HTTP_ENDPOINT points
/// at the mock, which answers the Dapr service-invocation routes (/v1.0/invoke/{app}/method/...) itself, as if the
/// sidecar and the safety and inference apps answered at once, and forwards every other Dapr HTTP route (actors,
/// health) to the real sidecar. So the three upstream calls per request (input check, generation, output check) take
/// the gateway's normal invocation path minus the sidecar hops, and the baseline is "client -> mock".
/// Ends, when asked, with the gateway's memory after many requests.
/// </summary>
static class LatencyBench
{
    private const string DevKey = "bench-dev-key-0123456789abcdef";

    /// <summary>--spin-pacing: the earlier request pacing (busy-waits for exact gaps), to compare with older figures.</summary>
    public static bool SpinPacing { get; set; }

    /// <summary>--preroll S: S seconds of unmeasured traffic to each target right before its measured seconds (default 0).</summary>
    public static int PrerollSeconds { get; set; }

    /// <summary>--stalls: trace each gateway's GC pauses, thread-pool injection and lock waits, and the quota actor calls
    /// it makes, and print next to each burst of slow requests what happened while they were in flight.</summary>
    public static bool Stalls { get; set; }

    // UTC time of the first send of the last open loop (the stall report puts request i at start + i / rps).
    private static DateTime _loopStartUtc;
    private const string Body = "{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8}";

    /// <param name="only">Target names to measure, in this order (direct, nginx, on, off); null: all of them.</param>
    /// <param name="warmUp">False measures each target cold (first requests after the gateway's start).</param>
    public static async Task<int> RunAsync(string root, int rps, int seconds, int rounds, int memoryRequests, string? countersDir, Variant? variant,
        string[]? only = null, bool warmUp = true, int memorySampleEvery = 100_000, int warmupSeconds = 2)
    {
        var temp = Directory.CreateTempSubdirectory("daprllm-gwbench-");
        var processes = new List<Process>();
        try
        {
            // Each gateway's Dapr HTTP endpoint is its own port on the mock, mapped to that gateway's sidecar.
            var sidecarOn = FreePort();
            var sidecarOff = FreePort();
            var sidecarGc = FreePort();
            var mockPort = FreePort();
            var daprOn = FreePort();
            var daprOff = FreePort();
            var daprGc = FreePort();
            await using var mock = await MockBackend.StartAsync(mockPort, new Dictionary<int, int> { [daprOn] = sidecarOn, [daprOff] = sidecarOff, [daprGc] = sidecarGc });
            var redisPort = FreePort();
            processes.Add(Start("/usr/bin/redis-server", ["--port", Inv(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--protected-mode", "no", "--dir", temp.FullName], null));
            await WaitTcpAsync(redisPort);
            var components = WriteComponents(temp.FullName, redisPort);
            var gatewayOn = await StartGatewayAsync(root, temp.FullName, components, daprOn, sidecarOn, audit: true, processes);
            var gatewayOff = await StartGatewayAsync(root, temp.FullName, components, daprOff, sidecarOff, audit: false, processes);

            // A fifth target (when asked): the audit-on gateway with other environment settings (e.g. the other
            // garbage collector, or a runtime or Audit__* knob), to compare two settings within one run.
            var gatewayVariant = variant is null
                ? null
                : await StartGatewayAsync(root, temp.FullName, components, daprGc, sidecarGc, audit: true, processes, variant.Environment, variant.GatewayDll);
            var nginxPort = FreePort();
            var nginxProcess = StartNginx(temp.FullName, nginxPort, mockPort);
            processes.Add(nginxProcess);
            await WaitTcpAsync(nginxPort);

            // CPU time per request of the processes each target uses (the bench process is the load generator and the mock).
            var redis = ("redis", processes[0]);
            var bench = ("bench", Process.GetCurrentProcess());
            (string, Process)[] Watch(Gateway g) => [("gateway", g.Process), ("sidecar", g.Sidecar), redis, bench];
            var direct = new Target("direct to the mock backend", $"http://127.0.0.1:{mockPort}/direct/v1/chat/completions", false, [bench]);

            // Like with like: the three backend calls the gateway must make per request (input check, generation, output
            // check), in sequence, on keep-alive connections, straight to the mock. Gateway minus this is the gateway's own
            // work plus its one extra hop; this minus "direct" is the cost of the calls the design requires.
            var mockBase = $"http://127.0.0.1:{mockPort}/v1.0/invoke";
            var direct3 = new Target("direct, the gateway's 3 backend calls", mockBase + "/safety/method/moderation/input", false, [bench], BackendCalls(mockBase));

            // The floor of an app that makes those three calls per request: a bare ASP.NET Core app with the gateway's
            // runtime settings and none of its own work (PlainApp.cs).
            var plainPort = FreePort();
            var plainProcess = Start("dotnet", ["exec", typeof(PlainApp).Assembly.Location, "--plain-app", Inv(plainPort), mockBase], new()
            {
                ["DOTNET_gcServer"] = "0", ["DOTNET_gcConcurrent"] = "0", ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0",
            });
            processes.Add(plainProcess);
            await WaitTcpAsync(plainPort);
            var plain = new Target("plain ASP.NET app making the 3 calls", $"http://127.0.0.1:{plainPort}/v1/chat/completions", false, [("plain app", plainProcess), bench]);
            var nginx = new Target("through nginx", $"http://127.0.0.1:{nginxPort}/direct/v1/chat/completions", false, [("nginx", nginxProcess), bench]);
            var on = new Target("through the gateway, audit on", $"http://127.0.0.1:{gatewayOn.Port}/v1/chat/completions", true, Watch(gatewayOn)) { Gateway = gatewayOn, DaprPort = daprOn };
            var off = new Target("through the gateway, audit off", $"http://127.0.0.1:{gatewayOff.Port}/v1/chat/completions", true, Watch(gatewayOff)) { Gateway = gatewayOff, DaprPort = daprOff };
            var variantTarget = gatewayVariant is null
                ? null
                : new Target("gateway, audit on, " + variant!.Name, $"http://127.0.0.1:{gatewayVariant.Port}/v1/chat/completions", true, Watch(gatewayVariant)) { Gateway = gatewayVariant, DaprPort = daprGc };
            Target[] targets = variantTarget is null ? [direct, direct3, nginx, on, off] : [direct, direct3, nginx, on, off, variantTarget];
            if (only is not null)
            {
                var byName = new Dictionary<string, Target> { ["direct"] = direct, ["direct3"] = direct3, ["nginx"] = nginx, ["on"] = on, ["off"] = off, ["plain"] = plain };
                if (variantTarget is not null)
                {
                    byName["variant"] = variantTarget;
                }

                targets = only.Select(n => byName.TryGetValue(n, out var t) ? t : throw new ArgumentException($"--targets: unknown target '{n}' (direct, direct3, nginx, on, off, variant)")).ToArray();
            }

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(10) });
            if (rounds > 0)
            {
                foreach (var target in warmUp ? targets : [])
                {
                    await OpenLoopAsync(http, target, rps, warmupSeconds); // warm-up: JIT, connections, quota leases
                }

                var counters = countersDir is null ? [] : new[] { Counters(countersDir, "gateway-audit-on", gatewayOn.Process), Counters(countersDir, "gateway-audit-off", gatewayOff.Process) }
                    .Concat(countersDir is not null && gatewayVariant is not null ? [Counters(countersDir, "gateway-variant", gatewayVariant.Process)] : []).ToArray();
                processes.AddRange(counters);
                foreach (var target in Stalls ? targets.Where(t => t.Gateway is not null || t == plain) : [])
                {
                    target.Trace = StallTrace.Start(target.Gateway?.Process.Id ?? plainProcess.Id);
                }

                await MeasureAsync(http, mock, targets, rps, seconds, rounds);
                foreach (var target in targets)
                {
                    target.Trace?.Dispose();
                }
                foreach (var c in counters)
                {
                    Stop(c);
                }

                var traceTool = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-trace");
                if (countersDir is not null && !File.Exists(traceTool))
                {
                    Console.WriteLine("  (no CPU-sampling trace: dotnet-trace is not installed; dotnet tool install -g dotnet-trace)");
                }
                else if (countersDir is not null)
                {
                    // After the measured rounds (so it disturbs none of them): a CPU-sampling trace of the audit-on
                    // gateway under the same load, to see where its time goes.
                    var tool = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-trace");
                    var trace = Start(tool, ["collect", "-p", Inv(gatewayOn.Process.Id), "--profile", "cpu-sampling", "--duration", "00:00:00:08",
                        "-o", Path.Combine(countersDir, "gateway-audit-on.nettrace")], null);
                    processes.Add(trace);
                    await Task.Delay(TimeSpan.FromSeconds(2));
                    await OpenLoopAsync(http, on, rps, 10);
                    await trace.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
                }
            }

            if (memoryRequests > 0)
            {
                await MemoryAsync(http, gatewayOn, memoryRequests, memorySampleEvery, countersDir);
            }

            return 0;
        }
        finally
        {
            foreach (var p in processes)
            {
                try
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5_000);
                }
                catch (InvalidOperationException)
                {
                }
            }

            try
            {
                temp.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// A measured target; <paramref name="Watched"/> are the processes whose CPU time is reported per request. With
    /// <paramref name="Chain"/>, one "request" is those calls made one after another (latency: first send to last byte).
    /// </summary>
    private sealed record Target(string Name, string Url, bool Key, (string Name, Process Process)[]? Watched = null, (string Url, string Body)[]? Chain = null)
    {
        /// <summary>The gateway behind this target, and the port on the mock that stands for its sidecar's HTTP API.</summary>
        public Gateway? Gateway { get; init; }

        public int DaprPort { get; init; }

        public StallTrace? Trace { get; set; }
    }

    /// <summary>
    /// The variant target's settings: a name for the report, the environment variables it adds and, when set, another
    /// gateway build to run (e.g. a copy of the build before a change, to compare before and after within one run).
    /// </summary>
    public sealed record Variant(string Name, Dictionary<string, string> Environment, string? GatewayDll = null);

    // What the gateway sends upstream for Body (same fields, similar sizes), for the like-with-like baseline.
    /// <summary>The gateway's three backend calls per chat request (input check, generation, output check) on the mock.</summary>
    internal static (string Url, string Body)[] BackendCalls(string mockBase) =>
    [
        (mockBase + "/safety/method/moderation/input", ModerationBody),
        (mockBase + "/inference/method/v1/generate", GenerateBody),
        (mockBase + "/safety/method/moderation/output", ModerationBody),
    ];

    private const string ModerationBody = "{\"requestId\":\"chatcmpl-0123456789abcdef0123456789abcdef\",\"text\":\"hi\",\"tenantId\":\"dev\",\"region\":\"eu\"}";
    private const string GenerateBody = "{\"requestId\":\"chatcmpl-0123456789abcdef0123456789abcdef\",\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"maxTokens\":8,\"temperature\":1,\"seed\":null}";

    // Rounds alternate the order of the two gateways, and each target starts after a pause, so work left over by the
    // previous target (e.g. the audit backlog of the audit-on gateway) lands on both gateways alike.
    private static async Task MeasureAsync(HttpClient http, MockBackend mock, Target[] targets, int rps, int seconds, int rounds)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gateway added latency, open loop at {rps:N0} req/s for {seconds} s per target, {rounds} rounds, {Environment.ProcessorCount} cores (shared)"));
        var all = targets.ToDictionary(t => t, _ => new List<double>());
        var after1s = targets.ToDictionary(t => t, _ => new List<double>());
        for (var round = 1; round <= rounds; round++)
        {
            var order = round % 2 == 1 ? targets : targets.Reverse().ToArray();
            foreach (var target in order)
            {
                await Task.Delay(TimeSpan.FromSeconds(3));
                if (PrerollSeconds > 0)
                {
                    // Traffic right before the measured seconds: the target is measured in its steady state, not as it
                    // wakes from the pause (idle quota lease returned, idle threads and connections).
                    await OpenLoopAsync(http, target, rps, PrerollSeconds);
                }

                var statuses = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
                var cpuBefore = (target.Watched ?? []).Select(w => CpuSeconds(w.Process, w.Name != "bench")).ToArray();
                var (latencies, errors) = await OpenLoopAsync(http, target, rps, seconds, statuses);
                var cpu = string.Join(", ", (target.Watched ?? []).Select((w, i) =>
                    string.Create(CultureInfo.InvariantCulture, $"{w.Name} {(CpuSeconds(w.Process, w.Name != "bench") - cpuBefore[i]) * 1e6 / Math.Max(1, latencies.Count):0}")));
                all[target].AddRange(latencies);
                var detail = errors == 0 ? "" : " (" + string.Join(", ", statuses.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key}: {kv.Value}")) + ")";
                if (errors > 0)
                {
                    // Which seconds of the run the failed requests were sent in (cold start vs steady state).
                    Console.WriteLine("    errors by second sent: " + string.Join(", ", statuses.Keys.Where(k => k.StartsWith('@')).Order().Select(k => $"{k[1..]}: {statuses[k]}")));
                    detail = " (" + string.Join(", ", statuses.Where(kv => !kv.Key.StartsWith('@')).OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key}: {kv.Value}")) + ")";
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round} {target.Name,-32} p50 {P(latencies, 50):0.000} ms  p99 {P(latencies, 99):0.000} ms  p99.9 {P(latencies, 99.9):0.000} ms  n={latencies.Count:N0} errors={errors}{detail}  load {Load()}"));
                var afterFirst = latencies.Skip(rps).ToList();
                after1s[target].AddRange(afterFirst);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"      without the first second: p50 {P(afterFirst, 50):0.000} ms  p99 {P(afterFirst, 99):0.000} ms"));
                if (cpu.Length > 0)
                {
                    Console.WriteLine($"      CPU µs per request: {cpu}");
                }

                Console.WriteLine("      " + Bursts(latencies, rps));
                if (target.Trace is not null)
                {
                    Console.WriteLine(StallReport(latencies, rps, target, mock));
                }
            }
        }

        double P50(Target t) => P(all[t], 50);
        double P99(Target t) => P(all[t], 99);
        Console.WriteLine("all rounds together:");
        foreach (var t in targets)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {t.Name,-32} p50 {P50(t):0.000} ms  p99 {P99(t):0.000} ms   without each round's first second: p50 {P(after1s[t], 50):0.000} ms  p99 {P(after1s[t], 99):0.000} ms"));
        }

        Target? Find(string prefix) => targets.FirstOrDefault(t => t.Name.StartsWith(prefix, StringComparison.Ordinal));
        var (direct, direct3, nginx, on, off) = (Find("direct to"), Find("direct, the"), Find("through nginx"), Find("through the gateway, audit on"), Find("through the gateway, audit off"));
        if (on is not null && targets.FirstOrDefault(t => t.Name.StartsWith("gateway, audit on, ", StringComparison.Ordinal)) is { } varied)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {varied.Name["gateway, audit on, ".Length..]} - default (audit on): p50 {P50(varied) - P50(on):+0.000;-0.000} ms  p99 {P99(varied) - P99(on):+0.000;-0.000} ms"));
        }

        if (direct is not null && on is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  gateway added vs direct (audit on - direct, 1 call):                 p50 {P50(on) - P50(direct):0.000} ms  p99 {P99(on) - P99(direct):0.000} ms"));
        }

        if (direct3 is not null && on is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  gateway added vs its own backend calls (audit on - direct 3 calls):  p50 {P50(on) - P50(direct3):0.000} ms  p99 {P99(on) - P99(direct3):0.000} ms"));
        }

        if (direct3 is not null && direct is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  the design's 3 backend calls (direct 3 calls - direct 1 call):        p50 {P50(direct3) - P50(direct):0.000} ms  p99 {P99(direct3) - P99(direct):0.000} ms"));
        }

        if (direct is not null && nginx is not null)
        {
            var nginxAdded50 = P50(nginx) - P50(direct);
            var nginxAdded99 = P99(nginx) - P99(direct);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  nginx hop added (nginx - direct): p50 {nginxAdded50:0.000} ms  p99 {nginxAdded99:0.000} ms"));
            if (on is not null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  ratio gateway/nginx added, vs direct:       p50 {(P50(on) - P50(direct)) / nginxAdded50:0.00}  p99 {(P99(on) - P99(direct)) / nginxAdded99:0.00}"));
            }

            if (on is not null && direct3 is not null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  ratio gateway/nginx added, vs its 3 calls:  p50 {(P50(on) - P50(direct3)) / nginxAdded50:0.00}  p99 {(P99(on) - P99(direct3)) / nginxAdded99:0.00}"));
            }
        }

        if (on is not null && off is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  audit on - audit off: p50 {P50(on) - P50(off):+0.000;-0.000} ms  p99 {P99(on) - P99(off):+0.000;-0.000} ms"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  mock backend: {mock.Calls:N0} invocations answered, {mock.Forwarded:N0} Dapr calls forwarded to the sidecars (actors, health)"));
    }

    // Where the slowest 1 % were sent: a few bursts of consecutive sends point at stalls of the whole process (a GC
    // pause, a thread-pool or lock stall, a quota lease exchange), requests spread over the run at general queueing for CPU.
    private static string Bursts(List<double> latencies, int rps)
    {
        var p99 = P(latencies, 99);
        var slow = Enumerable.Range(0, latencies.Count).Where(i => latencies[i] >= p99).ToArray();
        if (slow.Length == 0)
        {
            return "slowest 1 %: none";
        }

        var window = Math.Max(1, rps / 50); // sends within 20 ms of the previous slow one belong to the same burst
        var bursts = new List<(int First, int Count)>();
        foreach (var i in slow)
        {
            if (bursts.Count > 0 && i - (bursts[^1].First + bursts[^1].Count - 1) <= window)
            {
                bursts[^1] = (bursts[^1].First, i - bursts[^1].First + 1);
            }
            else
            {
                bursts.Add((i, 1));
            }
        }

        var largest = bursts.OrderByDescending(b => b.Count).Take(3).Select(b => string.Create(CultureInfo.InvariantCulture,
            $"{slow.Count(i => i >= b.First && i < b.First + b.Count)} sent at {b.First / (double)rps:0.00} s"));
        return string.Create(CultureInfo.InvariantCulture,
            $"slowest 1 % (>= {p99:0.0} ms): {slow.Length} requests in {bursts.Count} bursts (20 ms apart); largest: {string.Join(", ", largest)}");
    }

    // --stalls: each burst of the slowest 1 % (by size) with what the gateway did while those requests were in flight:
    // GC pauses, thread-pool adjustments, lock waits, and its quota actor calls (which pass through the mock).
    private static string StallReport(List<double> latencies, int rps, Target target, MockBackend mock)
    {
        var end = _loopStartUtc.AddSeconds(latencies.Count / (double)rps);
        var lines = new List<string> { "      " + target.Trace!.Summary(_loopStartUtc, end) + string.Create(CultureInfo.InvariantCulture,
            $"; quota actor calls {mock.ActorCalls(target.DaprPort, _loopStartUtc, end).Count}") };
        var p99 = P(latencies, 99);
        var slow = Enumerable.Range(0, latencies.Count).Where(i => latencies[i] >= p99).ToArray();
        var window = Math.Max(1, rps / 50);
        var bursts = new List<List<int>>();
        foreach (var i in slow)
        {
            if (bursts.Count > 0 && i - bursts[^1][^1] <= window)
            {
                bursts[^1].Add(i);
            }
            else
            {
                bursts.Add([i]);
            }
        }

        DateTime Sent(int i) => _loopStartUtc.AddSeconds(i / (double)rps);
        foreach (var burst in bursts.OrderByDescending(b => b.Count).Take(6).OrderBy(b => b[0]))
        {
            var from = Sent(burst[0]).AddMilliseconds(-5);
            var to = burst.Max(i => Sent(i).AddMilliseconds(latencies[i]));
            var seen = target.Trace.Between(from, to)
                .Select(e => string.Create(CultureInfo.InvariantCulture, $"+{(e.Start - Sent(burst[0])).TotalMilliseconds:0} {e.What}{(e.Ms > 0 ? $" {e.Ms:0.0} ms" : "")}"))
                .Concat(mock.ActorCalls(target.DaprPort, from, to).Select(c => string.Create(CultureInfo.InvariantCulture,
                    $"+{(c.Start - Sent(burst[0])).TotalMilliseconds:0} quota actor call {c.Ms:0.0} ms")))
                .ToList();
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"        burst of {burst.Count} sent at {burst[0] / (double)rps:0.000} s, worst {burst.Max(i => latencies[i]):0.0} ms: {(seen.Count == 0 ? "nothing traced" : string.Join("; ", seen.Take(12)))}"));
        }

        return string.Join('\n', lines);
    }

    // utime + stime of a process and (when asked) its direct children (nginx's worker), from /proc, in seconds.
    // The bench's own figure leaves its children out: every gateway, sidecar, Redis and nginx is a child of the bench,
    // so before 2026-11-30 21:30 UTC the "bench" figure included all of them (idle ones too).
    private static double CpuSeconds(Process process, bool withChildren)
    {
        double Ticks(string statPath)
        {
            try
            {
                var stat = File.ReadAllText(statPath);
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                return 0;
            }
        }

        var ticks = Ticks($"/proc/{process.Id}/stat");
        foreach (var dir in withChildren ? Directory.EnumerateDirectories("/proc") : [])
        {
            var name = Path.GetFileName(dir);
            if (name.All(char.IsAsciiDigit) && name != process.Id.ToString(CultureInfo.InvariantCulture))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    if (stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1] == process.Id.ToString(CultureInfo.InvariantCulture))
                    {
                        ticks += Ticks(Path.Combine(dir, "stat"));
                    }
                }
                catch (IOException)
                {
                }
            }
        }

        return ticks / 100.0; // USER_HZ
    }

    private static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    // dotnet-counters (System.Runtime: GC pauses, allocation rate, thread-pool queue) on a gateway while it is measured.
    private static Process Counters(string dir, string name, Process target)
    {
        Directory.CreateDirectory(dir);
        var tool = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-counters");
        return Start(tool, ["collect", "-p", Inv(target.Id), "--format", "csv", "-o", Path.Combine(dir, name + ".csv"), "--refresh-interval", "1",
            "--counters", "System.Runtime,Microsoft.AspNetCore.Hosting"], null);
    }

    private static void Stop(Process p)
    {
        try
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5_000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    // Requests leave at fixed times (every 1/rps s) whatever the answers do; latency is send to last byte.
    private static async Task<(List<double> Latencies, int Errors)> OpenLoopAsync(HttpClient http, Target target, int rps, int seconds,
        System.Collections.Concurrent.ConcurrentDictionary<string, int>? statuses = null)
    {
        var calls = target.Chain ?? [(target.Url, Body)];
        var key = target.Key;
        var total = rps * seconds;
        var latencies = new double[total];
        var errors = 0;
        var tasks = new Task[total];
        var clock = Stopwatch.StartNew();
        _loopStartUtc = DateTime.UtcNow;
        var interval = Stopwatch.Frequency / (double)rps;
        for (var i = 0; i < total; i++)
        {
            var due = (long)(i * interval);
            while (clock.ElapsedTicks < due)
            {
                if (!SpinPacing)
                {
                    // Sleep (~1.1 ms on Linux), then send every request that fell due meanwhile: spinning for exact
                    // 1 ms gaps kept a whole core busy on a 2-core machine, taken from the processes under test.
                    Thread.Sleep(1);
                }
                else if (due - clock.ElapsedTicks > Stopwatch.Frequency / 1000)
                {
                    Thread.Sleep(0);
                }
                else
                {
                    Thread.SpinWait(20);
                }
            }

            var slot = i;
            tasks[i] = Task.Run(async () =>
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    foreach (var (url, body) in calls)
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                        if (key)
                        {
                            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", DevKey);
                        }

                        using var response = await http.SendAsync(request);
                        var answer = await response.Content.ReadAsByteArrayAsync();
                        if (!response.IsSuccessStatusCode)
                        {
                            Interlocked.Increment(ref errors);
                            statuses?.AddOrUpdate($"{(int)response.StatusCode} {ErrorCode(answer)}", 1, (_, n) => n + 1);
                            statuses?.AddOrUpdate($"@{slot / rps:D3}", 1, (_, n) => n + 1);
                            break;
                        }
                    }
                }
                catch (HttpRequestException e)
                {
                    Interlocked.Increment(ref errors);
                    statuses?.AddOrUpdate($"transport {e.HttpRequestError}", 1, (_, n) => n + 1);
                    statuses?.AddOrUpdate($"@{slot / rps:D3}", 1, (_, n) => n + 1);
                }

                latencies[slot] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            });
        }

        await Task.WhenAll(tasks);
        return (latencies.ToList(), errors);
    }

    private static string ErrorCode(byte[] body)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            return doc.RootElement.GetProperty("error").GetProperty("code").GetString() ?? "?";
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "(not an OpenAI error)";
        }
    }

    // Closed loop (16 clients) on the audit-on gateway. Every sampleEvery requests it prints, at once (so a run cut
    // short still leaves figures), the gateway's RSS and its live managed heap: dotnet-gcdump forces a full GC and
    // walks the heap, so the heap figure is what is still referenced, not garbage awaiting collection.
    private static async Task MemoryAsync(HttpClient http, Gateway gateway, int requests, int sampleEvery, string? reportsDir)
    {
        var url = $"http://127.0.0.1:{gateway.Port}/v1/chat/completions";
        var failed = 0;
        async Task Closed(int count)
        {
            var next = 0;
            await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
            {
                while (Interlocked.Increment(ref next) <= count)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
                    request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", DevKey);
                    using var response = await http.SendAsync(request);
                    await response.Content.ReadAsByteArrayAsync();
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            }));
        }

        var warm = Math.Min(50_000, requests / 10);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gateway memory (audit on), closed loop with 16 clients: {requests:N0} requests, a sample every {sampleEvery:N0} after {warm:N0} warm-up requests"));
        await Closed(warm);
        var clock = Stopwatch.StartNew();
        var done = warm;
        await SampleAsync(0);
        while (done < requests)
        {
            var batch = Math.Min(sampleEvery, requests - done);
            var lap = Stopwatch.StartNew();
            await Closed(batch);
            done += batch;
            await SampleAsync(batch / lap.Elapsed.TotalSeconds);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {requests:N0} requests in all, {(requests - warm) / clock.Elapsed.TotalSeconds:N0} req/s on average after warm-up (sampling pauses included), {failed:N0} non-2xx"));

        async Task SampleAsync(double rate)
        {
            var rss = Rss(gateway.Process);
            var (heap, report) = await LiveHeapAsync(gateway.Process);
            if (reportsDir is not null)
            {
                Directory.CreateDirectory(reportsDir);
                await File.WriteAllTextAsync(Path.Combine(reportsDir, string.Create(CultureInfo.InvariantCulture, $"gcdump-{done:D8}.txt")), report);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  after {done,9:N0} requests: RSS {rss / 1048576.0,6:0.0} MB (after the dump's GC {Rss(gateway.Process) / 1048576.0,6:0.0} MB)  live managed heap {heap / 1048576.0,6:0.0} MB  {rate,5:0} req/s  non-2xx {failed}  load {Load()}"));
        }
    }

    // "dotnet-gcdump report -p" collects a heap dump (after a full, blocking GC) and prints the live heap by type.
    private static async Task<(long Bytes, string Report)> LiveHeapAsync(Process target)
    {
        var tool = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-gcdump");
        if (!File.Exists(tool))
        {
            return (-1, "dotnet-gcdump is not installed (dotnet tool install -g dotnet-gcdump)");
        }

        var info = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "report", "-p", Inv(target.Id) })
        {
            info.ArgumentList.Add(a);
        }

        using var dump = Process.Start(info)!;
        var output = dump.StandardOutput.ReadToEndAsync();
        var errors = dump.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await dump.WaitForExitAsync(timeout.Token);
        var text = await output + await errors;
        foreach (var line in text.Split('\n'))
        {
            // e.g. "    12,345,678  GC Heap bytes"
            if (line.Contains("GC Heap bytes", StringComparison.Ordinal)
                && long.TryParse(line.Trim().Split(' ')[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var bytes))
            {
                return (bytes, text);
            }
        }

        return (-1, text);
    }

    private static long Rss(Process process)
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    private sealed record Gateway(int Port, Process Process, Process Sidecar);

    private static async Task<Gateway> StartGatewayAsync(string root, string temp, string components, int daprHttpOnMock, int httpPort, bool audit, List<Process> processes,
        Dictionary<string, string>? extraEnv = null, string? gatewayDllPath = null)
    {
        var appPort = FreePort();
        var grpcPort = FreePort();
        var registry = Path.Combine(temp, "registry");
        Directory.CreateDirectory(registry);
        var sidecarDll = Path.Combine(root, "src", "DaprLlm.Sidecar", "bin", "Release", "net10.0", "daprllm-sidecar.dll");
        var sidecar = Start("dotnet", ["exec", sidecarDll, "--app-id", "gateway", "--dapr-http-port", Inv(httpPort), "--dapr-grpc-port", Inv(grpcPort),
            "--resources-path", components, "--registry-path", registry, "--app-port", Inv(appPort), "--metrics-port", Inv(FreePort())], new() { ["Logging__LogLevel__Default"] = "Warning" });
        processes.Add(sidecar);
        var gatewayDll = gatewayDllPath ?? Path.Combine(root, "src", "DaprLlm.Gateway", "bin", "Release", "net10.0", "DaprLlm.Gateway.dll");
        var env = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{appPort}",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            // Invocation answered by the mock; everything else on HTTP is forwarded by it to this gateway's sidecar.
            ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{daprHttpOnMock}",
            ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{grpcPort}",
            ["DAPR_GRPC_PORT"] = Inv(grpcPort),
            ["DAPRLLM_DEV_API_KEY"] = DevKey,
            ["Tenants__Development__Tier"] = "enterprise",
            ["Quotas__Tiers__enterprise__RequestsPerMinute"] = "10000000",
            ["Quotas__Tiers__enterprise__TokensPerMinute"] = "1000000000",
            ["Quotas__Tiers__enterprise__TokensPerDay"] = "100000000000",
            ["Quotas__Tiers__enterprise__MaxConcurrentRequests"] = "100000",
            ["Admission__MaxInFlight"] = "4096",
            ["Routing__InferenceByRegion__eu"] = "inference",
            ["Routing__InferenceByRegion__us"] = "inference",
            ["Audit__Enabled"] = audit ? "true" : "false",
            // A fresh durable outbox per gateway process: no events left from an earlier run are drained into this one.
            ["Outbox__Directory"] = Path.Combine(temp, $"outbox-{appPort}"), // inside the run's temp folder, deleted at the end
            // The drain publishes over HTTP straight to this gateway's sidecar, not through the mock's forwarder.
            ["Outbox__SidecarHttpEndpoint"] = $"http://127.0.0.1:{httpPort}",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (k, v) in extraEnv ?? [])
        {
            env[k] = v;
        }

        var gateway = Start("dotnet", ["exec", gatewayDll], env);
        processes.Add(gateway);
        using var http = new HttpClient();
        var until = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < until)
        {
            try
            {
                using var health = await http.GetAsync($"http://127.0.0.1:{appPort}/health");
                if (health.IsSuccessStatusCode)
                {
                    return new Gateway(appPort, gateway, sidecar);
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"the gateway did not become healthy within 120 s; its last output:\n{string.Join('\n', Tails[gateway.Id])}\n--- its sidecar:\n{string.Join('\n', Tails[processes[^2].Id])}");
    }

    private static string WriteComponents(string temp, int redisPort)
    {
        var dir = Path.Combine(temp, "components");
        Directory.CreateDirectory(dir);
        var secrets = Path.Combine(temp, "secrets.json");
        File.WriteAllText(secrets, "{\"gateway-api-key-pepper\":\"bench-pepper\",\"gateway-admin-key\":\"bench-admin-key-0123456789\"}");
        File.WriteAllText(Path.Combine(dir, "statestore.yaml"), $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: statestore
            spec:
              type: state.redis
              version: v1
              metadata:
              - name: redisHost
                value: "127.0.0.1:{redisPort}"
              - name: actorStateStore
                value: "true"
            """);
        File.WriteAllText(Path.Combine(dir, "pubsub.yaml"), $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: pubsub
            spec:
              type: pubsub.redis
              version: v1
              metadata:
              - name: redisHost
                value: "127.0.0.1:{redisPort}"
              # Nothing consumes the audit topics here: cap the streams so a long memory run does not fill Redis.
              - name: maxLenApprox
                value: "100000"
            """);
        File.WriteAllText(Path.Combine(dir, "secretstore.yaml"), $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: secretstore
            spec:
              type: secretstores.local.file
              version: v1
              metadata:
              - name: secretsFile
                value: "{secrets}"
              - name: nestedSeparator
                value: ":"
            """);
        return dir;
    }

    private static Process StartNginx(string temp, int port, int mockPort)
    {
        var prefix = Path.Combine(temp, "nginx");
        Directory.CreateDirectory(Path.Combine(prefix, "logs"));
        var conf = Path.Combine(prefix, "nginx.conf");
        File.WriteAllText(conf, $$"""
            worker_processes 1;
            daemon off;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/logs/error.log warn;
            events { worker_connections 4096; }
            http {
              access_log off;
              client_body_temp_path {{prefix}}/body;
              proxy_temp_path {{prefix}}/proxy;
              fastcgi_temp_path {{prefix}}/fastcgi;
              uwsgi_temp_path {{prefix}}/uwsgi;
              scgi_temp_path {{prefix}}/scgi;
              upstream mock { server 127.0.0.1:{{mockPort}}; keepalive 256; }
              server {
                listen 127.0.0.1:{{port}};
                location / { proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection ""; }
              }
            }
            """);
        return Start("/usr/sbin/nginx", ["-p", prefix, "-c", conf], null);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, System.Collections.Concurrent.ConcurrentQueue<string>> Tails = new();

    private static Process Start(string file, string[] args, Dictionary<string, string>? env)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            info.Environment[k] = v;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var tail = Tails.GetOrAdd(process.Id, _ => new System.Collections.Concurrent.ConcurrentQueue<string>());
        void Keep(string? line)
        {
            if (line is not null)
            {
                tail.Enqueue(line);
                while (tail.Count > 60 && tail.TryDequeue(out _))
                {
                }
            }
        }

        var echoed = 0;
        var echoNext = false;
        process.OutputDataReceived += (_, e) =>
        {
            Keep(e.Data);

            // Warnings and errors the gateways and sidecars log (the category line and the message line after it), so a
            // run with errors shows their cause; start-up health checks (sidecar not yet up) are left out.
            if (e.Data is not { } line)
            {
                return;
            }

            if (echoNext)
            {
                echoNext = false;
                Console.Error.WriteLine($"[{Path.GetFileName(file)} {process.Id}]   {(line.Length > 400 ? line[..400] : line.Trim())}");
            }
            else if ((line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal))
                && !line.Contains("HealthChecks", StringComparison.Ordinal) && Interlocked.Increment(ref echoed) <= 40)
            {
                echoNext = true;
                Console.Error.WriteLine($"[{Path.GetFileName(file)} {process.Id}] {(line.Length > 400 ? line[..400] : line)}");
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            Keep(e.Data);
            if (e.Data is { } line && line.Contains("fail", StringComparison.OrdinalIgnoreCase))
            {
                Console.Error.WriteLine($"[{Path.GetFileName(file)}] {line}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitTcpAsync(int port)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"nothing listens on {port}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static double P(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static string Inv(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A fast mock of the sidecar's invocation API with inference and safety behind it, an OpenAI-shaped endpoint to call
/// directly (the baseline), and a plain forwarder of the other Dapr HTTP routes to the real sidecars.
/// </summary>
sealed class MockBackend : IAsyncDisposable
{
    private const string Chat = "{\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"daprllm-demo\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello from the mock about the sea\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":7,\"total_tokens\":14}}";
    private const string Generation = "{\"model\":\"daprllm-demo\",\"text\":\"Hello from the mock about the sea\",\"promptTokens\":7,\"completionTokens\":7,\"finishReason\":\"stop\"}";
    private const string Allow = "{\"decision\":\"allow\",\"reasons\":[],\"policyVersion\":\"p1\"}";

    private static readonly HashSet<string> Unforwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Transfer-Encoding", "Keep-Alive", "Content-Length",
    };

    private readonly HttpClient _sidecars = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private WebApplication _app = null!;
    private IReadOnlyDictionary<int, int> _sidecarByPort = new Dictionary<int, int>();
    private long _calls;
    private long _forwarded;
    private readonly System.Collections.Concurrent.ConcurrentQueue<(int Port, DateTime Start, double Ms)> _actorCalls = new();

    /// <summary>Quota actor calls forwarded for the sidecar behind <paramref name="port"/> that overlap [from, to].</summary>
    public IReadOnlyList<(DateTime Start, double Ms)> ActorCalls(int port, DateTime from, DateTime to) =>
        _actorCalls.Where(c => c.Port == port && c.Start.AddMilliseconds(c.Ms) >= from && c.Start <= to).Select(c => (c.Start, c.Ms)).ToList();

    public long Calls => Interlocked.Read(ref _calls);

    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <param name="port">The port of the direct (baseline) endpoint.</param>
    /// <param name="sidecarByPort">Dapr HTTP ports served by the mock, each mapped to the HTTP port of the real sidecar it stands in front of.</param>
    public static async Task<MockBackend> StartAsync(int port, IReadOnlyDictionary<int, int> sidecarByPort)
    {
        var mock = new MockBackend { _sidecarByPort = sidecarByPort };
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            foreach (var p in sidecarByPort.Keys)
            {
                k.Listen(IPAddress.Loopback, p);
            }
        });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/direct/v1/chat/completions", (HttpContext c) => mock.Answer(c, Chat));
        app.MapPost("/v1.0/invoke/{appId}/method/v1/generate", (HttpContext c) => mock.Answer(c, Generation));
        app.MapPost("/v1.0/invoke/safety/method/moderation/{direction}", (HttpContext c) => mock.Answer(c, Allow));
        app.Map("/{**rest}", mock.ForwardAsync);
        await app.StartAsync();
        mock._app = app;
        return mock;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _sidecars.Dispose();
    }

    private static readonly Dictionary<string, byte[]> Encoded = new[] { Chat, Generation, Allow }.ToDictionary(j => j, j => Encoding.UTF8.GetBytes(j));

    // The mock shares the 2 cores with what it measures: drain the body without decoding it and answer pre-encoded
    // bytes with a Content-Length.
    private async Task Answer(HttpContext context, string json)
    {
        Interlocked.Increment(ref _calls);
        await context.Request.Body.CopyToAsync(Stream.Null);
        var bytes = Encoded[json];
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes);
    }

    // Actor calls (once per quota lease), actor state and health checks go on to the real sidecar unchanged.
    private async Task ForwardAsync(HttpContext context)
    {
        if (!_sidecarByPort.TryGetValue(context.Connection.LocalPort, out var sidecar))
        {
            context.Response.StatusCode = 404;
            return;
        }

        Interlocked.Increment(ref _forwarded);
        var started = DateTime.UtcNow;
        var watch = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method),
            $"http://127.0.0.1:{sidecar}{context.Request.Path}{context.Request.QueryString}");
        var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        if (body.Length > 0 || context.Request.ContentType is not null)
        {
            request.Content = new ByteArrayContent(body.ToArray());
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            if (!Unforwarded.Contains(name) && !request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        using var response = await _sidecars.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!Unforwarded.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        if (context.Request.Path.Value is { } path && path.Contains("/v1.0/actors/", StringComparison.Ordinal) && path.Contains("/method/", StringComparison.Ordinal))
        {
            _actorCalls.Enqueue((context.Connection.LocalPort, started, watch.Elapsed.TotalMilliseconds));
        }
    }
}
