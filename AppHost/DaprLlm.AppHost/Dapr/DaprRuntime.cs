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

    /// <summary>Placement and scheduler as `dapr init --slim` starts them; the local sidecar accepts and ignores these flags.</summary>
    public string PlacementAddress => Builder.Configuration["Dapr:PlacementHostAddress"] ?? "localhost:50005";

    public string SchedulerAddress => Builder.Configuration["Dapr:SchedulerHostAddress"] ?? "localhost:50006";

    public static DaprRuntime Detect(IDistributedApplicationBuilder builder, RepoLayout layout, RedisServerResource.RedisEndpoint redis)
    {
        var choice = builder.Configuration["DAPRLLM_SIDECAR"] ?? "auto";
        var daprd = choice == "local" ? null : FindDaprd(builder.Configuration["DAPRLLM_DAPRD"]);
        if (choice == "daprd" && daprd is null)
        {
            throw new InvalidOperationException("DAPRLLM_SIDECAR=daprd but daprd was not found (set DAPRLLM_DAPRD or run `dapr init --slim`)");
        }

        return new DaprRuntime(builder, layout, redis, daprd);
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
