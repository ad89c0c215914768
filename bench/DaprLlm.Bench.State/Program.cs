using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Dapr.Client;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;

// Usage: dotnet run -c Release --project bench/DaprLlm.Bench.State [-- ops]
// Sequential save+get pairs on loopback; every figure is measured in this run, so the ratio is what matters.
var ops = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
var budget = TimeSpan.FromSeconds(20);
var work = Directory.CreateTempSubdirectory("daprllm-bench-state");
var processes = new List<Process>();
try
{
    var redisPort = FreePort();
    processes.Add(Start("redis-server", "--port", Port(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work.FullName));
    var sqliteFile = Path.Combine(work.FullName, "bench.db");
    var components = Directory.CreateDirectory(Path.Combine(work.FullName, "components")).FullName;
    File.WriteAllText(Path.Combine(components, "stores.yaml"), $"""
        apiVersion: dapr.io/v1alpha1
        kind: Component
        metadata:
          name: redis
        spec:
          type: state.redis
          version: v1
          metadata:
          - name: redisHost
            value: "127.0.0.1:{redisPort}"
        ---
        apiVersion: dapr.io/v1alpha1
        kind: Component
        metadata:
          name: sqlite
        spec:
          type: state.sqlite
          version: v1
          metadata:
          - name: connectionString
            value: "{sqliteFile}"
        """);
    var (http, grpc) = (FreePort(), FreePort());
    var sidecarDll = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "DaprLlm.Sidecar", "bin",
        AppContext.BaseDirectory.Contains("Release", StringComparison.Ordinal) ? "Release" : "Debug", "net10.0", "daprllm-sidecar.dll");
    processes.Add(Start("dotnet", "exec", Path.GetFullPath(sidecarDll), "--app-id", "bench", "--dapr-http-port", Port(http), "--dapr-grpc-port", Port(grpc),
        "--resources-path", components, "--registry-path", Path.Combine(work.FullName, "registry"), "--log-level", "warn", "--metrics-port", Port(FreePort())));

    using var dapr = new DaprClientBuilder().UseHttpEndpoint($"http://127.0.0.1:{http}").UseGrpcEndpoint($"http://127.0.0.1:{grpc}").Build();
    await WaitAsync(async () => await dapr.CheckHealthAsync(), "sidecar");
    await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redisPort}");
    var db = redis.GetDatabase();
    var payload = new Order("o-1", 3, "benchmark payload of moderate size");
    var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(payload);

    // Warm the sidecar's code paths for both stores first (JIT tiering), so the first measured store is not penalised.
    for (var i = 0; i < 500; i++)
    {
        await dapr.SaveStateAsync("redis", "warm" + (i % 10), payload);
        await dapr.GetStateAsync<Order>("redis", "warm" + (i % 10));
        await dapr.SaveStateAsync("sqlite", "warm" + (i % 10), payload);
        await dapr.GetStateAsync<Order>("sqlite", "warm" + (i % 10));
    }

    var results = new List<(string Name, double OpsPerSecond)>
    {
        await MeasureAsync("sidecar → state.redis (SDK gRPC)", async i =>
        {
            await dapr.SaveStateAsync("redis", "k" + (i % 100), payload);
            await dapr.GetStateAsync<Order>("redis", "k" + (i % 100));
        }),
        await MeasureAsync("raw StackExchange.Redis (HSET+HINCRBY, HMGET)", async i =>
        {
            var key = "raw||k" + (i % 100);
            var tx = db.CreateTransaction();
            _ = tx.HashSetAsync(key, "data", json);
            _ = tx.HashIncrementAsync(key, "version");
            await tx.ExecuteAsync();
            var fields = await db.HashGetAsync(key, ["data", "version"]);
            System.Text.Json.JsonSerializer.Deserialize<Order>((byte[])fields[0]!);
        }),
    };

    await using var sqlite = new SqliteConnection($"Data Source={Path.Combine(work.FullName, "raw.db")}");
    await sqlite.OpenAsync();
    await Exec(sqlite, "PRAGMA journal_mode=WAL; CREATE TABLE state (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL, is_binary BOOLEAN NOT NULL, etag TEXT NOT NULL, expiration_time TIMESTAMP DEFAULT NULL, update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);");
    results.Add(await MeasureAsync("sidecar → state.sqlite (SDK gRPC)", async i =>
    {
        await dapr.SaveStateAsync("sqlite", "k" + (i % 100), payload);
        await dapr.GetStateAsync<Order>("sqlite", "k" + (i % 100));
    }));
    var text = System.Text.Encoding.UTF8.GetString(json);
    results.Add(await MeasureAsync("raw Microsoft.Data.Sqlite (INSERT OR REPLACE, SELECT)", async i =>
    {
        await using (var insert = sqlite.CreateCommand())
        {
            insert.CommandText = "INSERT OR REPLACE INTO state (key, value, is_binary, etag, update_time) VALUES ($k, $v, 0, $e, CURRENT_TIMESTAMP)";
            insert.Parameters.AddWithValue("$k", "k" + (i % 100));
            insert.Parameters.AddWithValue("$v", text);
            insert.Parameters.AddWithValue("$e", Guid.NewGuid().ToString());
            await insert.ExecuteNonQueryAsync();
        }

        await using var select = sqlite.CreateCommand();
        select.CommandText = "SELECT value, etag FROM state WHERE key = $k";
        select.Parameters.AddWithValue("$k", "k" + (i % 100));
        await using var reader = await select.ExecuteReaderAsync();
        await reader.ReadAsync();
        System.Text.Json.JsonSerializer.Deserialize<Order>(reader.GetString(0));
    }));

    // Where the time goes: reads alone through the sidecar, per store.
    results.Add(await MeasureAsync("sidecar → state.redis, get only", async i => await dapr.GetStateAsync<Order>("redis", "k" + (i % 100))));
    results.Add(await MeasureAsync("sidecar → state.sqlite, get only", async i => await dapr.GetStateAsync<Order>("sqlite", "k" + (i % 100))));

    Console.WriteLine();
    Console.WriteLine($"{"save+get pairs per second",-58} {"ops/s",10}");
    foreach (var (name, rate) in results)
    {
        Console.WriteLine($"{name,-58} {rate,10:F0}");
    }

    Console.WriteLine($"sidecar/raw ratio, Redis:  {results[0].OpsPerSecond / results[1].OpsPerSecond:F2}");
    Console.WriteLine($"sidecar/raw ratio, SQLite: {results[2].OpsPerSecond / results[3].OpsPerSecond:F2}");
    return 0;
}
finally
{
    foreach (var p in processes)
    {
        if (!p.HasExited)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }

        p.Dispose();
    }

    SqliteConnection.ClearAllPools();
    work.Delete(recursive: true);
}

async Task<(string, double)> MeasureAsync(string name, Func<int, Task> pair)
{
    for (var i = 0; i < Math.Min(200, ops); i++)
    {
        await pair(i);
    }

    var watch = Stopwatch.StartNew();
    var done = 0;
    while (done < ops && watch.Elapsed < budget)
    {
        await pair(done++);
    }

    var rate = done / watch.Elapsed.TotalSeconds;
    Console.WriteLine($"{name}: {done} pairs in {watch.Elapsed.TotalSeconds:F2}s");
    return (name, rate);
}

static async Task Exec(SqliteConnection connection, string sql)
{
    await using var command = connection.CreateCommand();
    command.CommandText = sql;
    await command.ExecuteNonQueryAsync();
}

static async Task WaitAsync(Func<Task<bool>> ready, string what)
{
    var until = DateTime.UtcNow.AddSeconds(60);
    while (DateTime.UtcNow < until)
    {
        try
        {
            if (await ready())
            {
                return;
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or Dapr.DaprException)
        {
        }

        await Task.Delay(50);
    }

    throw new TimeoutException($"{what} did not become ready");
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

static Process Start(string file, params string[] arguments)
{
    var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var argument in arguments)
    {
        info.ArgumentList.Add(argument);
    }

    var process = Process.Start(info)!;
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

internal sealed record Order(string Id, int Quantity, string Note);
