using System.Diagnostics;
using StackExchange.Redis;

namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>
/// A real redis-server process on an ephemeral port with its own data folder (AOF on, so a restart keeps data).
/// Shared per test class through <c>IClassFixture&lt;RedisServer&gt;</c>; tests isolate themselves by app id or key prefix.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private readonly TempFolder _data = new("daprllm-redis");
    private Process? _process;

    public int Port { get; } = Ports.GetFree();

    public string Address => $"127.0.0.1:{Port}";

    public async ValueTask InitializeAsync()
    {
        var binary = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed: run `sudo apt-get install -y redis-server` (the README's setup does this)");
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--dir", _data.Path, "--appendonly", "yes", "--save", "", "--protected-mode", "no" })
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Deadline.WaitUntilAsync(async () =>
        {
            try
            {
                await using var connection = await ConnectionMultiplexer.ConnectAsync($"{Address},connectTimeout=500,abortConnect=true");
                return connection.IsConnected;
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(15), "redis-server to accept connections");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }

        _process?.Dispose();
        _data.Dispose();
    }
}
