using DaprLlm.Bench.PubSub;

// Usage: dotnet run -c Release -- [messages=20000] [publishConcurrency=64]
var messages = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
var concurrency = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64;

await using var redis = await RedisProcess.StartAsync();
var baseline = await RawStreamsBench.RunAsync(redis.Address, messages, concurrency);

// BENCH_SIDECARS="name=path/to/daprllm-sidecar.dll;name2=" compares builds in one run (empty path: this checkout's build).
var builds = (Environment.GetEnvironmentVariable("BENCH_SIDECARS") is { Length: > 0 } list ? list : "sidecar=")
    .Split(';', StringSplitOptions.RemoveEmptyEntries)
    .Select(b => b.Split('=', 2))
    .Select(b => (Name: b[0], Dll: b.Length > 1 && b[1].Length > 0 ? Path.GetFullPath(b[1]) : null))
    .ToList();
var results = new List<(string Name, BenchResult Result)>();
foreach (var (name, dll) in builds)
{
    results.Add((name, await SidecarBench.RunAsync(redis.Address, messages, concurrency, dll, name)));
}

Console.WriteLine($"{"run",-34} {"msg/s",10} {"p50 ms",8} {"p99 ms",8}");
Console.WriteLine(baseline.Format("raw XADD/XREADGROUP/XACK"));
foreach (var (name, sidecar) in results)
{
    Console.WriteLine(sidecar.Format($"{name}: publish -> app -> XACK"));
    Console.WriteLine($"{name} / raw throughput: {sidecar.PerSecond / baseline.PerSecond:P0}; target >= 5,000 msg/s: {(sidecar.PerSecond >= 5000 ? "met" : "not met")}");
}
