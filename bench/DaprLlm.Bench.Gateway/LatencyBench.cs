using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>
/// The gateway's own added latency on loopback at a fixed request rate (open loop), against a fast mock backend:
/// direct to the mock (baseline), through an nginx reverse proxy (the floor of a proxy hop), and through the gateway
/// with audit publishing on and off. The gateway runs as its own process (Release build) with its real local sidecar
/// and Redis (keys, quota actors, pub/sub); its upstream calls (safety input check, generation, safety output check)
/// go straight to the mock (Upstream:Direct) so sidecar invocation hops are not counted. Ends with the gateway's
/// memory after many requests.
/// </summary>
static class LatencyBench
{
    private const string DevKey = "bench-dev-key-0123456789abcdef";
    private const string Body = "{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8}";

    public static async Task<int> RunAsync(string root, int rps, int seconds, int rounds, int memoryRequests)
    {
        var temp = Directory.CreateTempSubdirectory("daprllm-gwbench-");
        var processes = new List<Process>();
        try
        {
            var mockPort = FreePort();
            await using var mock = await MockBackend.StartAsync(mockPort);
            var redisPort = FreePort();
            processes.Add(Start("/usr/bin/redis-server", ["--port", Inv(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--protected-mode", "no", "--dir", temp.FullName], null));
            await WaitTcpAsync(redisPort);
            var components = WriteComponents(temp.FullName, redisPort);
            var gatewayOn = await StartGatewayAsync(root, temp.FullName, components, mockPort, audit: true, processes);
            var gatewayOff = await StartGatewayAsync(root, temp.FullName, components, mockPort, audit: false, processes);
            var nginxPort = FreePort();
            processes.Add(StartNginx(temp.FullName, nginxPort, mockPort));
            await WaitTcpAsync(nginxPort);

            var targets = new (string Name, string Url, bool Key)[]
            {
                ("direct to the mock backend", $"http://127.0.0.1:{mockPort}/direct/v1/chat/completions", false),
                ("through nginx", $"http://127.0.0.1:{nginxPort}/direct/v1/chat/completions", false),
                ("through the gateway, audit on", $"http://127.0.0.1:{gatewayOn.Port}/v1/chat/completions", true),
                ("through the gateway, audit off", $"http://127.0.0.1:{gatewayOff.Port}/v1/chat/completions", true),
            };
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(10) });
            foreach (var target in targets)
            {
                await OpenLoopAsync(http, target.Url, target.Key, rps, 2); // warm-up: JIT, connections, quota leases
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"gateway added latency, open loop at {rps:N0} req/s for {seconds} s per target, {rounds} rounds, {Environment.ProcessorCount} cores (shared)"));
            var all = targets.ToDictionary(t => t.Name, _ => new List<double>());
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var target in targets)
                {
                    var (latencies, errors) = await OpenLoopAsync(http, target.Url, target.Key, rps, seconds);
                    all[target.Name].AddRange(latencies);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  round {round} {target.Name,-32} p50 {P(latencies, 50):0.000} ms  p99 {P(latencies, 99):0.000} ms  n={latencies.Count:N0} errors={errors}"));
                }
            }

            double P50(string n) => P(all[n], 50);
            double P99(string n) => P(all[n], 99);
            var direct = targets[0].Name;
            var nginx = targets[1].Name;
            var on = targets[2].Name;
            var off = targets[3].Name;
            Console.WriteLine("all rounds together:");
            foreach (var t in targets)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {t.Name,-32} p50 {P50(t.Name):0.000} ms  p99 {P99(t.Name):0.000} ms"));
            }

            var gatewayAdded50 = P50(on) - P50(direct);
            var gatewayAdded99 = P99(on) - P99(direct);
            var nginxAdded50 = P50(nginx) - P50(direct);
            var nginxAdded99 = P99(nginx) - P99(direct);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  gateway added (audit on - direct): p50 {gatewayAdded50:0.000} ms  p99 {gatewayAdded99:0.000} ms"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  nginx hop added (nginx - direct):  p50 {nginxAdded50:0.000} ms  p99 {nginxAdded99:0.000} ms"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  ratio gateway/nginx added: p50 {gatewayAdded50 / nginxAdded50:0.00}  p99 {gatewayAdded99 / nginxAdded99:0.00}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  audit on - audit off: p50 {P50(on) - P50(off):+0.000;-0.000} ms  p99 {P99(on) - P99(off):+0.000;-0.000} ms"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  mock backend calls: {mock.Calls:N0} (the gateway makes 3 per request: input check, generation, output check)"));

            if (memoryRequests > 0)
            {
                await MemoryAsync(http, gatewayOn, memoryRequests);
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

    // Requests leave at fixed times (every 1/rps s) whatever the answers do; latency is send to last byte.
    private static async Task<(List<double> Latencies, int Errors)> OpenLoopAsync(HttpClient http, string url, bool key, int rps, int seconds)
    {
        var total = rps * seconds;
        var latencies = new double[total];
        var errors = 0;
        var tasks = new Task[total];
        var clock = Stopwatch.StartNew();
        var interval = Stopwatch.Frequency / (double)rps;
        for (var i = 0; i < total; i++)
        {
            var due = (long)(i * interval);
            while (clock.ElapsedTicks < due)
            {
                if (due - clock.ElapsedTicks > Stopwatch.Frequency / 1000)
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
                    using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
                    if (key)
                    {
                        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", DevKey);
                    }

                    using var response = await http.SendAsync(request);
                    await response.Content.ReadAsByteArrayAsync();
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }

                latencies[slot] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            });
        }

        await Task.WhenAll(tasks);
        return (latencies.ToList(), errors);
    }

    private static async Task MemoryAsync(HttpClient http, Gateway gateway, int requests)
    {
        var url = $"http://127.0.0.1:{gateway.Port}/v1/chat/completions";
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
                }
            }));
        }

        var warm = Math.Min(50_000, requests / 10);
        await Closed(warm);
        var before = Rss(gateway.Process);
        var clock = Stopwatch.StartNew();
        var quarter = (requests - warm) / 4;
        var samples = new List<string>();
        for (var q = 0; q < 4; q++)
        {
            await Closed(quarter);
            samples.Add(string.Create(CultureInfo.InvariantCulture, $"{Rss(gateway.Process) / 1048576.0:0}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gateway memory (RSS, audit on): {before / 1048576.0:0} MB after {warm:N0} warm-up requests; then {string.Join(" / ", samples)} MB after each further {quarter:N0} ({requests:N0} in all, {(requests - warm) / clock.Elapsed.TotalSeconds:N0} req/s closed loop, 16 clients)"));
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

    private sealed record Gateway(int Port, Process Process);

    private static async Task<Gateway> StartGatewayAsync(string root, string temp, string components, int mockPort, bool audit, List<Process> processes)
    {
        var appPort = FreePort();
        var httpPort = FreePort();
        var grpcPort = FreePort();
        var registry = Path.Combine(temp, "registry");
        Directory.CreateDirectory(registry);
        var sidecarDll = Path.Combine(root, "src", "DaprLlm.Sidecar", "bin", "Release", "net10.0", "daprllm-sidecar.dll");
        processes.Add(Start("dotnet", ["exec", sidecarDll, "--app-id", "gateway", "--dapr-http-port", Inv(httpPort), "--dapr-grpc-port", Inv(grpcPort),
            "--resources-path", components, "--registry-path", registry, "--app-port", Inv(appPort)], new() { ["Logging__LogLevel__Default"] = "Warning" }));
        var gatewayDll = Path.Combine(root, "src", "DaprLlm.Gateway", "bin", "Release", "net10.0", "DaprLlm.Gateway.dll");
        var env = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{appPort}",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{httpPort}",
            ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{grpcPort}",
            ["DAPR_HTTP_PORT"] = Inv(httpPort),
            ["DAPR_GRPC_PORT"] = Inv(grpcPort),
            ["DAPRLLM_DEV_API_KEY"] = DevKey,
            ["Tenants__Development__Tier"] = "enterprise",
            ["Quotas__Tiers__enterprise__RequestsPerMinute"] = "10000000",
            ["Quotas__Tiers__enterprise__TokensPerMinute"] = "1000000000",
            ["Quotas__Tiers__enterprise__TokensPerDay"] = "100000000000",
            ["Quotas__Tiers__enterprise__MaxConcurrentRequests"] = "100000",
            ["Admission__MaxInFlight"] = "4096",
            ["Upstream__Direct__inference"] = $"http://127.0.0.1:{mockPort}/inference/",
            ["Upstream__Direct__safety"] = $"http://127.0.0.1:{mockPort}/safety/",
            ["Routing__InferenceByRegion__eu"] = "inference",
            ["Routing__InferenceByRegion__us"] = "inference",
            ["Audit__Enabled"] = audit ? "true" : "false",
            ["Logging__LogLevel__Default"] = "Warning",
        };
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
                    return new Gateway(appPort, gateway);
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("the gateway did not become healthy within 120 s");
    }

    private static string WriteComponents(string temp, int redisPort)
    {
        var dir = Path.Combine(temp, "components");
        Directory.CreateDirectory(dir);
        var secrets = Path.Combine(temp, "secrets.json");
        File.WriteAllText(secrets, "{\"gateway\":{\"apiKeySalt\":\"bench-pepper\",\"adminKey\":\"bench-admin-key-0123456789\"}}");
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
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
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

/// <summary>A fast mock of inference and safety, plus an OpenAI-shaped endpoint to call directly (the baseline).</summary>
sealed class MockBackend : IAsyncDisposable
{
    private const string Chat = "{\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"daprllm-demo\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello from the mock about the sea\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":7,\"total_tokens\":14}}";
    private const string Generation = "{\"model\":\"daprllm-demo\",\"text\":\"Hello from the mock about the sea\",\"promptTokens\":7,\"completionTokens\":7,\"finishReason\":\"stop\"}";
    private const string Allow = "{\"decision\":\"allow\",\"reasons\":[],\"policyVersion\":\"p1\"}";

    private WebApplication _app = null!;
    private long _calls;

    public long Calls => Interlocked.Read(ref _calls);

    public static async Task<MockBackend> StartAsync(int port)
    {
        var mock = new MockBackend();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/direct/v1/chat/completions", (HttpContext c) => mock.Answer(c, Chat));
        app.MapPost("/inference/v1/generate", (HttpContext c) => mock.Answer(c, Generation));
        app.MapPost("/safety/moderation/{direction}", (HttpContext c) => mock.Answer(c, Allow));
        await app.StartAsync();
        mock._app = app;
        return mock;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task Answer(HttpContext context, string json)
    {
        Interlocked.Increment(ref _calls);
        using (var reader = new StreamReader(context.Request.Body))
        {
            await reader.ReadToEndAsync();
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json);
    }
}
