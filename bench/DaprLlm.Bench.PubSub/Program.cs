using DaprLlm.Bench.PubSub;

// Usage: dotnet run -c Release -- [messages=20000] [publishConcurrency=64]
var messages = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
var concurrency = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64;

await using var redis = await RedisProcess.StartAsync();
var baseline = await RawStreamsBench.RunAsync(redis.Address, messages, concurrency);

// BENCH_SIDECARS="name=path/to/daprllm-sidecar.dll;name2=|KEY=VALUE,KEY2=VALUE" compares builds (empty path: this
// checkout's build) and runtime settings (extra environment of that sidecar only) in one run.
var builds = (Environment.GetEnvironmentVariable("BENCH_SIDECARS") is { Length: > 0 } list ? list : "sidecar=")
    .Split(';', StringSplitOptions.RemoveEmptyEntries)
    .Select(b => b.Split('=', 2))
    .Select(b =>
    {
        var rest = b.Length > 1 ? b[1].Split('|', 2) : [""];
        var environment = rest.Length > 1
            ? rest[1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "")
            : [];
        return (Name: b[0], Dll: rest[0].Length > 0 ? Path.GetFullPath(rest[0]) : null, Environment: (IReadOnlyDictionary<string, string>)environment);
    })
    .ToList();
var results = new List<(string Name, BenchResult Result)>();
foreach (var (name, dll, environment) in builds)
{
    results.Add((name, await SidecarBench.RunAsync(redis.Address, messages, concurrency, dll, name, environment)));
}

Console.WriteLine($"{"run",-34} {"msg/s",10} {"p50 ms",8} {"p99 ms",8}");
Console.WriteLine(baseline.Format("raw XADD/XREADGROUP/XACK"));
foreach (var (name, sidecar) in results)
{
    Console.WriteLine(sidecar.Format($"{name}: publish -> app -> XACK"));
    Console.WriteLine($"{name} / raw throughput: {sidecar.PerSecond / baseline.PerSecond:P0}; target >= 5,000 msg/s: {(sidecar.PerSecond >= 5000 ? "met" : "not met")}");
}
