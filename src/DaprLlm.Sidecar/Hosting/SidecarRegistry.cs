using System.Diagnostics;
using System.Text.Json;

namespace DaprLlm.Sidecar.Hosting;

/// <summary>Where one running sidecar can be reached.</summary>
public sealed record SidecarInstance(string AppId, int ProcessId, string Host, int HttpPort, int GrpcPort, DateTimeOffset StartedAt)
{
    public Uri HttpAddress => new($"http://{Host}:{HttpPort}/");
}

/// <summary>
/// Local name resolution: every sidecar of a run writes a small JSON file into a shared folder
/// (<c>--registry-path</c> or DAPRLLM_SIDECAR_REGISTRY, default $TMPDIR/daprllm-sidecar-registry),
/// named <c>&lt;app-id&gt;/&lt;pid&gt;-&lt;http-port&gt;.json</c>, and removes it when it stops. Entries of dead
/// processes are ignored and cleaned. Several instances of one app id are picked round robin.
/// </summary>
public sealed class SidecarRegistry(SidecarOptions options, TimeProvider time, ILogger<SidecarRegistry> logger) : IHostedService
{
    private int _roundRobin;
    private string? _ownFile;

    public SidecarInstance Self { get; } = new(options.AppId, Environment.ProcessId, "127.0.0.1",
        options.DaprHttpPort, options.DaprGrpcPort, time.GetUtcNow());

    /// <summary>Live instances of <paramref name="appId"/>, this sidecar included when it serves that app id.</summary>
    public IReadOnlyList<SidecarInstance> Resolve(string appId)
    {
        var folder = Path.Combine(options.RegistryPath, Sanitize(appId));
        if (!Directory.Exists(folder))
        {
            return [];
        }

        var live = new List<SidecarInstance>();
        foreach (var file in Directory.EnumerateFiles(folder, "*.json"))
        {
            try
            {
                var instance = JsonSerializer.Deserialize<SidecarInstance>(File.ReadAllText(file));
                if (instance is null)
                {
                    continue;
                }

                if (IsAlive(instance.ProcessId))
                {
                    live.Add(instance);
                }
                else
                {
                    File.Delete(file);
                }
            }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                // A file being written or removed right now: skip it this time.
            }
        }

        return live.OrderBy(i => i.StartedAt).ThenBy(i => i.HttpPort).ToList();
    }

    /// <summary>Picks one instance of <paramref name="appId"/> (round robin), or null when none is running.</summary>
    public SidecarInstance? Pick(string appId)
    {
        var instances = Resolve(appId);
        return instances.Count == 0 ? null : instances[(int)((uint)Interlocked.Increment(ref _roundRobin) % instances.Count)];
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var folder = Path.Combine(options.RegistryPath, Sanitize(options.AppId));
        Directory.CreateDirectory(folder);
        _ownFile = Path.Combine(folder, $"{Environment.ProcessId}-{options.DaprHttpPort}.json");
        var temp = _ownFile + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(Self));
        File.Move(temp, _ownFile, overwrite: true);
        logger.LogInformation("Registered app id {AppId} in {Registry}", options.AppId, options.RegistryPath);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_ownFile is not null && File.Exists(_ownFile))
        {
            File.Delete(_ownFile);
        }

        return Task.CompletedTask;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string Sanitize(string appId) =>
        string.Concat(appId.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
}
