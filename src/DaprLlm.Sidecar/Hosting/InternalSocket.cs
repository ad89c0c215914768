using System.Security.Cryptography;
using System.Text;

namespace DaprLlm.Sidecar.Hosting;

/// <summary>
/// The Unix domain socket other sidecars of the run use for the sidecar-to-sidecar hop (the part daprd does over
/// its own internal gRPC port): loopback TCP costs more kernel time per request on a busy 2-core machine. It lives
/// in the run's registry folder (<c>sockets/&lt;pid&gt;-&lt;http-port&gt;.sock</c>), or in a short per-run folder under
/// $TMPDIR when that path would be too long for a socket address. Files of dead sidecars are removed at start,
/// this sidecar's own file on shutdown. <c>--internal-socket false</c> (or DAPRLLM_SIDECAR_INTERNAL_SOCKET=0)
/// turns it off: peers then call over TCP, as they do for any entry without a socket.
/// </summary>
public sealed class InternalSocket(SidecarOptions options, IHostApplicationLifetime lifetime, ILogger<InternalSocket> logger) : IHostedService
{
    // sun_path holds 108 bytes on Linux (104 on macOS), terminator included.
    private const int MaxPathBytes = 100;

    /// <summary>Where this sidecar listens, or null when the socket is turned off or unsupported.</summary>
    public string? Path { get; } = options.InternalSocket && System.Net.Sockets.Socket.OSSupportsUnixDomainSockets ? Choose(options) : null;

    /// <summary>Creates the folder, removes files of sidecars that are gone (and a stale file at this path).</summary>
    public void Prepare()
    {
        if (Path is null)
        {
            return;
        }

        var folder = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.EnumerateFiles(folder, "*.sock"))
        {
            var name = System.IO.Path.GetFileNameWithoutExtension(file);
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (file == Path || (dash > 0 && int.TryParse(name.AsSpan(0, dash), out var pid) && !ProcessIsAlive(pid)))
            {
                TryDelete(file);
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Kestrel creates the file when it binds, which may come after the hosted services start.
        lifetime.ApplicationStarted.Register(() =>
        {
            if (Path is not null && !OperatingSystem.IsWindows() && File.Exists(Path))
            {
                // Only the run's sidecars (same user) may connect; they still present the run's internal token.
                File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                logger.LogInformation("Sidecar-to-sidecar calls are served on unix socket {Path}", Path);
            }
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (Path is not null)
        {
            TryDelete(Path);
            try
            {
                // The last sidecar of the run leaves no empty folder behind; others still have their files in it.
                Directory.Delete(System.IO.Path.GetDirectoryName(Path)!, recursive: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return Task.CompletedTask;
    }

    private static string Choose(SidecarOptions options)
    {
        var name = $"{Environment.ProcessId}-{options.DaprHttpPort}.sock";
        var inRegistry = System.IO.Path.Combine(System.IO.Path.GetFullPath(options.RegistryPath), "sockets", name);
        if (Encoding.UTF8.GetByteCount(inRegistry) <= MaxPathBytes)
        {
            return inRegistry;
        }

        // Same folder for every sidecar of the run: named after the registry path.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(System.IO.Path.GetFullPath(options.RegistryPath))))[..12];
        return System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"daprllm-sockets-{hash}", name);
    }

    private static bool ProcessIsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
