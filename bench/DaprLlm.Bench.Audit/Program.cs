using System.Diagnostics;
using System.Globalization;
using DaprLlm.Audit.Trail;

// Usage: DaprLlm.Bench.Audit [events=100000] [concurrency=2000] [postgres connection string]
//        DaprLlm.Bench.Audit lag [rate=1000] [seconds=30]
//        DaprLlm.Bench.Audit seal [events=20000] [rounds=5]
//        DaprLlm.Bench.Audit verify [records=100000] [walks=5] [sqlite|pg|both]   (pg: a throwaway local cluster)
// Each event is appended through ChainWriter exactly as the ingestion endpoint does (await until its batch commits),
// so the figure is durable, chained events/s. Then ChainVerifier walks the whole chain.
if (args is ["seal", ..])
{
    await DaprLlm.Bench.Audit.SealBench.RunAsync(
        args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5);
    return;
}

if (args is ["verify", ..])
{
    var records = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
    var walks = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
    var stores = args.Length > 3 ? args[3] : "sqlite";
    var verifySigner = new CheckpointSigner("bench-checkpoint-key-0123456789"u8.ToArray());
    using var verifyFolder = new DaprLlm.Sidecar.Tests.Infrastructure.TempFolder("daprllm-bench-verify");
    if (stores is "sqlite" or "both")
    {
        await DaprLlm.Bench.Audit.VerifyBench.RunAsync("sqlite", new SqliteAuditStore("eu", Path.Combine(verifyFolder.Path, "audit-eu.db")), verifySigner, records, walks);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    if (stores is "pg" or "both")
    {
        var cluster = new DaprLlm.Audit.Tests.Infrastructure.PostgresCluster();
        await cluster.InitializeAsync();
        try
        {
            await DaprLlm.Bench.Audit.VerifyBench.RunAsync("postgresql", new PostgresAuditStore("bench", cluster.ConnectionString), verifySigner, records, walks);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    return;
}

if (args is ["lag", ..])
{
    var rate = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
    var seconds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30;
    var system = new DaprLlm.Audit.Tests.Infrastructure.AuditSystem();
    await system.InitializeAsync();
    try
    {
        // Warm-up (JIT, connections, SQLite pages), then the baseline at a tenth of the rate, then the target rate.
        await DaprLlm.Bench.Audit.LagBench.RunAsync(system, "warm-up", Math.Max(10, rate / 10), TimeSpan.FromSeconds(5));
        var baseline = await DaprLlm.Bench.Audit.LagBench.RunAsync(system, "baseline", Math.Max(10, rate / 10), TimeSpan.FromSeconds(Math.Max(10, seconds / 2)));
        var steady = await DaprLlm.Bench.Audit.LagBench.RunAsync(system, "steady", rate, TimeSpan.FromSeconds(seconds));
        Console.WriteLine(DaprLlm.Bench.Audit.LagBench.Format(baseline));
        Console.WriteLine(DaprLlm.Bench.Audit.LagBench.Format(steady));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"p99 steady / baseline: {steady.P99 / Math.Max(1, baseline.P99):0.00}x"));
    }
    finally
    {
        await system.DisposeAsync();
    }

    return;
}

var events = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2_000;
var postgres = args.Length > 2 ? args[2] : Environment.GetEnvironmentVariable("AUDIT_BENCH_PG");
var signer = new CheckpointSigner("bench-checkpoint-key-0123456789"u8.ToArray());
var folder = Path.Combine(Path.GetTempPath(), "daprllm-bench-audit-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(folder);
try
{
    await RunAsync("sqlite (WAL, synchronous=FULL)", new SqliteAuditStore("eu", Path.Combine(folder, "audit-eu.db")));
    if (!string.IsNullOrEmpty(postgres))
    {
        await RunAsync("postgresql", new PostgresAuditStore("bench" + DateTime.UtcNow.Ticks.ToString(CultureInfo.InvariantCulture)[^6..], postgres));
    }
    else
    {
        Console.WriteLine("postgresql: skipped (pass a connection string as the third argument or AUDIT_BENCH_PG)");
    }
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(folder, recursive: true);
}

async Task RunAsync(string name, IAuditStore store)
{
    await using var _ = store;
    var writer = new ChainWriter(store, signer, TimeProvider.System, maxBatch: 1000, checkpointEvery: 10_000);
    await writer.StartAsync(CancellationToken.None);
    var content = """{"completion":"Sure. Here is a short answer to your question.","completionTokens":12,"model":"daprllm-demo","outcome":"completed","prompt":"Explain <EMAIL_ADDRESS> masking","promptTokens":9,"requestId":"r","userId":"psn_0123456789abcdef0123456789abcdef"}""";
    var next = -1;
    var stopwatch = Stopwatch.StartNew();
    var producers = Enumerable.Range(0, concurrency).Select(async _ =>
    {
        int n;
        while ((n = Interlocked.Increment(ref next)) < events)
        {
            await writer.AppendAsync(new AuditEntry($"evt-{n}", "request.completed", "gateway", "tenant-" + (n % 10).ToString(CultureInfo.InvariantCulture), "eu",
                "psn_0123456789abcdef0123456789abcdef", 1_700_000_000_000 + n, content, null, $"req-{n}"), CancellationToken.None);
        }
    }).ToArray();
    await Task.WhenAll(producers);
    var ingest = stopwatch.Elapsed;
    await writer.CheckpointNowAsync(CancellationToken.None);
    await writer.DisposeAsync();

    stopwatch.Restart();
    var report = await new ChainVerifier(signer).VerifyAsync(store, null, CancellationToken.None);
    var verify = stopwatch.Elapsed;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name}: ingest {events:N0} events in {ingest.TotalSeconds:0.00} s = {events / ingest.TotalSeconds:N0} events/s (concurrency {concurrency}, batch ≤ 1000); " +
        $"verify {report.RecordsChecked:N0} records ({(report.Ok ? "ok" : "FAILED")}, {report.CheckpointsChecked} checkpoints) in {verify.TotalSeconds:0.00} s = {report.RecordsChecked / verify.TotalSeconds:N0} records/s"));
}
