using DaprLlm.Bench.PubSub;

// Usage: dotnet run -c Release -- [messages=20000] [publishConcurrency=64]
var messages = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
var concurrency = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64;

await using var redis = await RedisProcess.StartAsync();
var baseline = await RawStreamsBench.RunAsync(redis.Address, messages, concurrency);
var sidecar = await SidecarBench.RunAsync(redis.Address, messages, concurrency);

Console.WriteLine($"{"run",-34} {"msg/s",10} {"p50 ms",8} {"p99 ms",8}");
Console.WriteLine(baseline.Format("raw XADD/XREADGROUP/XACK"));
Console.WriteLine(sidecar.Format("sidecar publish -> app -> XACK"));
Console.WriteLine($"sidecar / raw throughput: {sidecar.PerSecond / baseline.PerSecond:P0}; target >= 5,000 msg/s: {(sidecar.PerSecond >= 5000 ? "met" : "not met")}");
