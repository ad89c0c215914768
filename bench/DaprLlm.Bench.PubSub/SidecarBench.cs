using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Dapr.Client;

namespace DaprLlm.Bench.PubSub;

/// <summary>
/// The same messages through the sidecar: DaprClient.PublishEventAsync (gRPC) into pubsub.redis, delivered to an
/// in-process app route, acknowledged by the sidecar once the app answered 200.
/// </summary>
public static class SidecarBench
{
    public static async Task<BenchResult> RunAsync(string redisAddress, int messages, int concurrency, string? sidecarDll = null, string label = "sidecar",
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var folder = Directory.CreateTempSubdirectory("daprllm-bench-pubsub");
        try
        {
            File.WriteAllText(Path.Combine(folder.FullName, "pubsub.yaml"), $"""
                apiVersion: dapr.io/v1alpha1
                kind: Component
                metadata:
                  name: pubsub
                spec:
                  type: pubsub.redis
                  version: v1
                  metadata:
                  - name: redisHost
                    value: {redisAddress}
                  - name: concurrency
                    value: "100"
                """);
            var latencies = new ConcurrentBag<long>();
            var delivered = 0;
            var appPort = RedisProcess.FreePort();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, appPort));
            await using var app = builder.Build();
            var publishOnly = Environment.GetEnvironmentVariable("BENCH_PUBLISH_ONLY") == "1";
            app.MapGet("/dapr/subscribe", () => Results.Text(publishOnly ? "[]" : """[{"pubsubname":"pubsub","topic":"bench","route":"/bench"}]""", "application/json"));
            app.MapPost("/bench", async (HttpRequest request) =>
            {
                // A lean subscriber (reads data.t without building a DOM): the app's CPU shares the 2 cores with the sidecar.
                var body = request.BodyReader;
                var read = await body.ReadAsync();
                while (!read.IsCompleted)
                {
                    body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                    read = await body.ReadAsync();
                }

                latencies.Add(Stopwatch.GetTimestamp() - PublishedAt(read.Buffer));
                body.AdvanceTo(read.Buffer.End);
                Interlocked.Increment(ref delivered);
                return Results.Ok();
            });
            await app.StartAsync();

            // BENCH_PAYLOAD_BYTES=N adds about N bytes of small JSON fields to each event (audit events are ~1-2 KB of such
            // fields), so the cost of building the envelope shows; unset, the event is just {"t":...} as before.
            var fields = Environment.GetEnvironmentVariable("BENCH_PAYLOAD_BYTES") is { Length: > 0 } sizeText
                ? Enumerable.Range(0, int.Parse(sizeText, System.Globalization.CultureInfo.InvariantCulture) / 24)
                    .ToDictionary(i => $"field{i:D4}", i => $"value {i:D6}")
                : null;
            object Event() => fields is null ? new { t = Stopwatch.GetTimestamp() } : new { t = Stopwatch.GetTimestamp(), fields };

            var httpPort = RedisProcess.FreePort();
            var grpcPort = RedisProcess.FreePort();
            using var sidecar = StartSidecar(sidecarDll, folder.FullName, appPort, httpPort, grpcPort, environment);
            using var client = new DaprClientBuilder().UseGrpcEndpoint($"http://127.0.0.1:{grpcPort}").UseHttpEndpoint($"http://127.0.0.1:{httpPort}").Build();
            await WaitAsync(async () =>
            {
                using var http = new HttpClient();
                return (await http.GetAsync($"http://127.0.0.1:{httpPort}/v1.0/healthz")).StatusCode == HttpStatusCode.NoContent;
            }, "sidecar health");

            // Warm up (connections, JIT and tiering, subscription) before measuring: with only a few hundred messages the
            // sidecar was still compiling its hot paths (a profile showed 13 % of its CPU in the JIT) during the measurement.
            // Even 2,000 (the default) leave part of it in tier-0 code; BENCH_WARMUP=40000 measures steady state.
            var warmUp = Environment.GetEnvironmentVariable("BENCH_WARMUP") is { Length: > 0 } warmText
                ? int.Parse(warmText, System.Globalization.CultureInfo.InvariantCulture)
                : 2000;
            var warmStart = Stopwatch.GetTimestamp();
            var warmCpu = sidecar.TotalProcessorTime;
            var warmNext = -1;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref warmNext) < warmUp)
                {
                    await client.PublishEventAsync("pubsub", "bench", Event());
                }
            })));
            await WaitAsync(() => Task.FromResult(publishOnly || Volatile.Read(ref delivered) >= warmUp), "warm-up deliveries", warmUp);
            sidecar.Refresh();
            Console.WriteLine($"  {label} warm-up: {warmUp} in {Stopwatch.GetElapsedTime(warmStart).TotalSeconds:N2}s " +
                $"({warmUp / Stopwatch.GetElapsedTime(warmStart).TotalSeconds:N0} msg/s), sidecar CPU " +
                $"{(sidecar.TotalProcessorTime - warmCpu).TotalMilliseconds * 1000 / Math.Max(1, warmUp):N0} µs per message");
            await Task.Delay(TimeSpan.FromSeconds(1));
            latencies.Clear();
            Interlocked.Exchange(ref delivered, 0);

            var sidecarCpu = sidecar.TotalProcessorTime;
            var benchCpu = Process.GetCurrentProcess().TotalProcessorTime;
            var start = Stopwatch.GetTimestamp();
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) < messages)
                {
                    await client.PublishEventAsync("pubsub", "bench", Event());
                }
            })));
            Console.WriteLine($"  {label}: published {messages} in {Stopwatch.GetElapsedTime(start).TotalSeconds:N2}s, {Volatile.Read(ref delivered)} delivered by then");
            await WaitAsync(() => Task.FromResult(publishOnly || Volatile.Read(ref delivered) >= messages), "all deliveries", messages);
            var elapsed = Stopwatch.GetElapsedTime(start);
            sidecar.Refresh();
            Console.WriteLine($"  {label} CPU: {(sidecar.TotalProcessorTime - sidecarCpu).TotalMilliseconds * 1000 / messages:N0} µs per message; " +
                $"bench process CPU: {(Process.GetCurrentProcess().TotalProcessorTime - benchCpu).TotalMilliseconds * 1000 / messages:N0} µs per message");
            sidecar.Kill(entireProcessTree: true);
            return BenchResult.From(messages, elapsed, latencies);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static Process StartSidecar(string? sidecarDll, string resources, int appPort, int httpPort, int grpcPort,
        IReadOnlyDictionary<string, string>? environment)
    {
        var dll = sidecarDll ?? new[] { "Release", "Debug" }
            .Select(c => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/DaprLlm.Sidecar/bin", c, "net10.0/daprllm-sidecar.dll")))
            .FirstOrDefault(File.Exists) ?? throw new FileNotFoundException("build src/DaprLlm.Sidecar first");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "exec", dll, "--app-id", "bench", "--app-port", $"{appPort}", "--dapr-http-port", $"{httpPort}",
                     "--dapr-grpc-port", $"{grpcPort}", "--resources-path", resources, "--log-level", "warn",
                     "--metrics-port", $"{RedisProcess.FreePort()}" })
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static long PublishedAt(System.Buffers.ReadOnlySequence<byte> envelope)
    {
        var reader = new Utf8JsonReader(envelope);
        var inData = false;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.CurrentDepth == 1)
            {
                inData = reader.ValueTextEquals("data");
            }
            else if (inData && reader.CurrentDepth == 2 && reader.ValueTextEquals("t") && reader.Read())
            {
                return reader.GetInt64();
            }
        }

        throw new InvalidOperationException("the delivered event has no data.t");
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, int messages = 0)
    {
        // 120 s, more for long runs (at least 200 messages/s).
        var until = DateTime.UtcNow.AddSeconds(Math.Max(120, messages / 200));
        while (DateTime.UtcNow < until)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"timed out waiting for {what}");
    }
}
