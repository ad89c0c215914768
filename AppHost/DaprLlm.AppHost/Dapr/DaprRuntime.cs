using DaprLlm.AppHost.Infrastructure;

namespace DaprLlm.AppHost.Dapr;

/// <summary>
/// Which Dapr runtime the sidecars run: real daprd when it is installed (DAPRLLM_DAPRD, `daprd` on PATH or
/// ~/.dapr/bin/daprd), otherwise DaprLlm's local sidecar. Both get the same arguments and component files.
/// DAPRLLM_SIDECAR=local forces the local sidecar; DAPRLLM_SIDECAR=daprd requires daprd.
/// </summary>
public sealed class DaprRuntime
{
    private DaprRuntime(IDistributedApplicationBuilder builder, RepoLayout layout, RedisServerResource.RedisEndpoint redis, string? daprdPath)
    {
        Builder = builder;
        Layout = layout;
        Redis = redis;
        DaprdPath = daprdPath;

        // One name-resolution folder per AppHost run, so two runs on one machine never see each other's sidecars.
        RegistryPath = Path.Combine(Path.GetTempPath(), "daprllm-registry", $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(RegistryPath);
    }

    public IDistributedApplicationBuilder Builder { get; }

    public RepoLayout Layout { get; }

    public RedisServerResource.RedisEndpoint Redis { get; }

    /// <summary>Full path of daprd, or null to run the local sidecar.</summary>
    public string? DaprdPath { get; }

    public string RegistryPath { get; }

    /// <summary>Placement and scheduler (where `dapr init --slim`'s binaries listen when started); the local sidecar accepts and ignores these flags.</summary>
    public string PlacementAddress => Builder.Configuration["Dapr:PlacementHostAddress"] ?? "localhost:50005";

    public string SchedulerAddress => Builder.Configuration["Dapr:SchedulerHostAddress"] ?? "localhost:50006";

    public static DaprRuntime Detect(IDistributedApplicationBuilder builder, RepoLayout layout, RedisServerResource.RedisEndpoint redis)
    {
        var choice = builder.Configuration["DAPRLLM_SIDECAR"] ?? "auto";
        var daprd = choice == "local" ? null : FindDaprd(builder.Configuration["DAPRLLM_DAPRD"]);
        var placement = builder.Configuration["Dapr:PlacementHostAddress"] ?? "localhost:50005";
        var scheduler = builder.Configuration["Dapr:SchedulerHostAddress"] ?? "localhost:50006";
        var (chosen, note) = Choose(choice, daprd, placement, scheduler, Answers);
        if (note is not null)
        {
            Console.WriteLine(note);
        }

        return new DaprRuntime(builder, layout, redis, chosen);
    }

    /// <summary>
    /// daprd needs placement (actors: API keys, quotas) and scheduler (workflows, reminders), which `dapr init --slim`
    /// installs but does not start: "auto" takes daprd only when both answer, and says why when it does not;
    /// "daprd" without them fails now rather than with every request later.
    /// </summary>
    /// <returns>daprd's path, or null for the local sidecar; and a line for the console, if any.</returns>
    public static (string? Daprd, string? Note) Choose(string choice, string? daprd, string placement, string scheduler, Func<string, bool> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        if (choice == "local")
        {
            return (null, null);
        }

        if (daprd is null)
        {
            return choice == "daprd"
                ? throw new InvalidOperationException("DAPRLLM_SIDECAR=daprd but daprd was not found (set DAPRLLM_DAPRD or run `dapr init --slim`)")
                : (null, null);
        }

        var missing = new[] { ("placement", placement), ("scheduler", scheduler) }.Where(service => !answers(service.Item2))
            .Select(service => $"{service.Item1} ({service.Item2})").ToList();
        if (missing.Count == 0)
        {
            return (daprd, null);
        }

        var why = $"daprd is installed ({daprd}) but nothing answers for {string.Join(" and ", missing)}; `dapr init --slim` does not start them "
                  + "(run ~/.dapr/bin/placement and ~/.dapr/bin/scheduler, or set Dapr__PlacementHostAddress / Dapr__SchedulerHostAddress)";
        return choice == "daprd"
            ? throw new InvalidOperationException($"DAPRLLM_SIDECAR=daprd, but {why}")
            : (null, $"Using DaprLlm's local sidecar: {why}.");
    }

    // A TCP connect within half a second: enough to tell a listening service from none on loopback.
    private static bool Answers(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out var port))
        {
            return false;
        }

        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            return client.ConnectAsync(address[..colon], port).Wait(TimeSpan.FromMilliseconds(500)) && client.Connected;
        }
        catch (Exception e) when (e is AggregateException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static string? FindDaprd(string? configured)
    {
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured) ? configured : throw new InvalidOperationException($"DAPRLLM_DAPRD points to a missing file: {configured}");
        }

        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "daprd"))
            .Append(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dapr", "bin", "daprd"));
        return candidates.FirstOrDefault(File.Exists);
    }
}
