using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DaprLlm.AppHost.Infrastructure;

/// <summary>
/// Redis for state, actors, workflows and pub/sub: Debian's redis-server as an executable with append-only
/// persistence in .data/redis, or the redis container image when a container runtime answers.
/// </summary>
public static class RedisServerResource
{
    /// <summary>A running Redis reachable at 127.0.0.1:<see cref="Port"/>.</summary>
    public sealed record RedisEndpoint(IResourceBuilder<IResourceWithWaitSupport> Resource, int Port)
    {
        public string Address => $"127.0.0.1:{Port}";
    }

    public static RedisEndpoint AddRedisServer(this IDistributedApplicationBuilder builder, string name, string dataDirectory)
    {
        var port = FreePort.Next();
        var healthKey = $"{name}-ping";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(healthKey, _ => new RedisPingHealthCheck(port), null, null));

        IResourceBuilder<IResourceWithWaitSupport> resource;
        if (ContainerRuntimeAvailable())
        {
            resource = builder.AddContainer(name, "redis", "7.4")
                .WithEndpoint(port: port, targetPort: 6379, name: "tcp", scheme: "tcp", isProxied: false)
                .WithBindMount(dataDirectory, "/data")
                .WithArgs("--appendonly", "yes")
                .WithHealthCheck(healthKey);
        }
        else
        {
            // PATH first, as run.sh's check does (snap, Homebrew or conda installs), then the usual places.
            var binary = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, "redis-server")).Concat(["/usr/bin/redis-server", "/usr/local/bin/redis-server"]).FirstOrDefault(File.Exists)
                ?? throw new InvalidOperationException("redis-server is not installed. Run ./run.sh (it installs it) or: sudo apt-get install -y redis-server");
            resource = builder.AddExecutable(name, binary, dataDirectory,
                    "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                    "--dir", dataDirectory, "--appendonly", "yes", "--save", "", "--protected-mode", "no")
                .WithEndpoint(port: port, targetPort: port, name: "tcp", scheme: "tcp", isProxied: false)
                .WithHealthCheck(healthKey);
        }

        return new RedisEndpoint(resource, port);
    }

    // Docker's CLI may be installed without an engine: only a runtime that answers counts.
    private static bool ContainerRuntimeAvailable()
    {
        if (Environment.GetEnvironmentVariable("DAPRLLM_REDIS") is "executable")
        {
            return false;
        }

        if (!File.Exists("/var/run/docker.sock"))
        {
            return false;
        }

        try
        {
            using var docker = Process.Start(new ProcessStartInfo("docker", "info --format {{.ServerVersion}}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            return docker is not null && docker.WaitForExit(3000) && docker.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <summary>Healthy when Redis answers PING with PONG.</summary>
    private sealed class RedisPingHealthCheck(int port) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port, cancellationToken);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
                var buffer = new byte[16];
                var read = await stream.ReadAsync(buffer, cancellationToken);
                return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal)
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy("unexpected answer to PING");
            }
            catch (SocketException e)
            {
                return HealthCheckResult.Unhealthy(e.Message);
            }
        }
    }
}
