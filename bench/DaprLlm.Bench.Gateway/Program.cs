using System.Diagnostics;
using System.Globalization;
using Dapr.Actors;
using Dapr.Actors.Client;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Quotas;
using DaprLlm.Gateway.Tenants;
using Microsoft.Extensions.Options;

// Rate-limit decisions per second on one replica: admission (key + tenant lease) and settlement, with the actor
// replaced by an in-memory one so only the gateway's hot path is measured (the actor is called once per lease,
// i.e. once per (limit + burst) / LeaseDivisor requests). Also key verification and memory after N decisions.
// Other modes: --semantic (semantic-cache lookup at N entries), --latency (added latency vs direct and nginx; --targets off,on
// measures only those targets in that order (direct, direct3, nginx, on, off, plain, variant; "plain" is a bare ASP.NET Core app making
// the gateway's three backend calls, the floor of such an app on these cores), --no-warmup measures them cold, straight
// after the gateways start; "direct3" is the like-with-like baseline: the gateway's three backend calls made directly;
// --stalls prints, next to each burst of slow gateway requests, the GC pauses, thread-pool adjustments, lock waits and quota
// actor calls of that gateway while those requests were in flight).
if (args.Length == 3 && args[0] == "--plain-app")
{
    // Started by --latency as the "plain" target's process.
    return await PlainApp.RunAsync(int.Parse(args[1], CultureInfo.InvariantCulture), LatencyBench.BackendCalls(args[2]));
}

if (args.Contains("--latency"))
{
    var root = AppContext.BaseDirectory;
    while (!File.Exists(Path.Combine(root, "DaprLlm.sln")))
    {
        root = Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar)) ?? throw new InvalidOperationException("run from inside the repository");
    }

    var counters = Array.IndexOf(args, "--counters") is var c and >= 0 && c + 1 < args.Length ? args[c + 1] : null;
    // --gc-variant: a fifth target with the workstation non-concurrent GC; --variant K=V,K=V: one with those variables.
    var variantArg = Array.IndexOf(args, "--variant") is var v and >= 0 && v + 1 < args.Length ? args[v + 1] : null;
    // --variant-dll PATH: the variant target runs that gateway build (e.g. a copy of the build before a change).
    var variantDll = Array.IndexOf(args, "--variant-dll") is var vd and >= 0 && vd + 1 < args.Length ? Path.GetFullPath(args[vd + 1]) : null;
    LatencyBench.Variant? variant = variantArg is not null
        ? new(variantArg, variantArg.Split(',').Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]), variantDll)
        : args.Contains("--gc-variant") ? new("workstation GC", new() { ["DOTNET_gcServer"] = "0", ["DOTNET_gcConcurrent"] = "0" })
        : variantDll is not null ? new("build " + variantDll, [], variantDll) : null;
    LatencyBench.SpinPacing = args.Contains("--spin-pacing");
    LatencyBench.PrerollSeconds = Arg("--preroll", 0);
    LatencyBench.Stalls = args.Contains("--stalls");
    var only = Array.IndexOf(args, "--targets") is var t and >= 0 && t + 1 < args.Length ? args[t + 1].Split(',') : null;
    return await LatencyBench.RunAsync(root, Arg("--rps", 1000), Arg("--seconds", 10), Arg("--rounds", 2), Arg("--memory-requests", 0), counters, variant,
        only, warmUp: !args.Contains("--no-warmup"), memorySampleEvery: Arg("--memory-sample-every", 100_000), warmupSeconds: Arg("--warmup", 2));
}

if (args.Contains("--semantic"))
{
    return SemanticLookupBench.Run(Arg("--entries", 100_000), Arg("--queries", 10_000), Arg("--dimensions", 384));
}

var seconds = Arg("--seconds", 5);
var threads = Arg("--threads", Environment.ProcessorCount);

var options = Options.Create(new QuotaOptions());
options.Value.Tiers[Tiers.Enterprise] = new QuotaLimits
{
    RequestsPerMinute = int.MaxValue / 4, TokensPerMinute = long.MaxValue / 4, TokensPerDay = long.MaxValue / 4,
    MaxConcurrentRequests = 100_000, BurstRequests = 0, BurstTokens = 0,
};
var quotas = new QuotaService(new InMemoryActors(), options, TimeProvider.System);
var tenant = new Tenant("bench", Tiers.Enterprise, "eu", ["eu"], [], null, Tiers.PolicyWindow, DateTimeOffset.UtcNow);
var callers = Enumerable.Range(0, 64).Select(i => new Caller(new ApiKeyRecord($"key{i:D8}", "bench", "b", "s", "h", DateTimeOffset.UtcNow), tenant)).ToArray();

// Warm up (JIT, lease acquisition).
await RunAsync(1);
var before = GC.GetTotalMemory(forceFullCollection: true);
var (count, elapsed) = await RunAsync(seconds);
var after = GC.GetTotalMemory(forceFullCollection: true);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"rate-limit decisions (admit + settle, key and tenant): {count / elapsed.TotalSeconds:N0}/s on {threads} threads, {Environment.ProcessorCount} cores"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"managed heap after {count:N0} decisions: {after / 1048576.0:0.0} MB (before: {before / 1048576.0:0.0} MB)"));

var (key, keyId, secret) = ApiKeyFormat.Generate();
var stored = new ApiKeyRecord(keyId, "bench", "b", ApiKeyFormat.NewSalt(), "", DateTimeOffset.UtcNow);
stored = stored with { Hash = ApiKeyFormat.Hash("pepper", stored.Salt, secret) };
var sw = Stopwatch.StartNew();
var verified = 0;
while (sw.Elapsed < TimeSpan.FromSeconds(2))
{
    var (_, s) = ApiKeyFormat.Split(key);
    verified += ApiKeyFormat.Verify("pepper", stored, s) ? 1 : 0;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"API key verification (split + HMAC + fixed-time compare): {verified / sw.Elapsed.TotalSeconds:N0}/s on 1 thread"));
return 0;

async Task<(long Count, TimeSpan Elapsed)> RunAsync(int runSeconds)
{
    long total = 0;
    var until = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(async () =>
    {
        long mine = 0;
        var caller = callers[t % callers.Length];
        while (until.Elapsed < TimeSpan.FromSeconds(runSeconds))
        {
            for (var i = 0; i < 1000; i++)
            {
                var decision = await quotas.AdmitAsync(caller, 100, CancellationToken.None);
                decision.Ticket!.Settle(60);
            }

            mine += 1000;
        }

        Interlocked.Add(ref total, mine);
    })));
    return (total, until.Elapsed);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>Quota actors kept in memory: grants whatever is asked (the limits above never bind).</summary>
sealed class InMemoryActors : IActorProxyFactory
{
    public TActorInterface CreateActorProxy<TActorInterface>(ActorId actorId, string actorType, ActorProxyOptions? options = null)
        where TActorInterface : IActor => (TActorInterface)(object)new Grant();

    public object CreateActorProxy(ActorId actorId, Type actorInterfaceType, string actorType, ActorProxyOptions? options = null) => new Grant();

    public ActorProxy Create(ActorId actorId, string actorType, ActorProxyOptions? options = null) => throw new NotSupportedException();

    private sealed class Grant : IQuotaActor
    {
        public Task<LeaseGrant> ExchangeAsync(LeaseExchange e) => Task.FromResult(new LeaseGrant
        {
            Granted = true, Window = 1, Requests = e.NeedRequests + e.ExtraRequests, Tokens = e.NeedTokens + e.ExtraTokens, Slots = e.NeedSlots + e.ExtraSlots,
            MinuteResetMs = 60_000, RemainingRequests = int.MaxValue / 4, RemainingTokens = long.MaxValue / 4,
        });

        public Task<LeaseGrant> PeekAsync(QuotaLimits limits) => Task.FromResult(new LeaseGrant());
    }
}
