using System.Diagnostics;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Npgsql;

namespace DaprLlm.Audit.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster per test class: initdb into a temp folder, started on a free loopback port,
/// stopped (immediate) and removed on dispose. initdb/pg_ctl refuse root, so as root they run as user postgres.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    private readonly TempFolder _folder = new("daprllm-pg");
    private string _bin = "";

    public int Port { get; } = Ports.GetFree();

    public string DataPath => Path.Combine(_folder.Path, "data");

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=20";

    public async ValueTask InitializeAsync()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb"))) ?? ""
            : "";
        if (_bin.Length == 0)
        {
            throw new InvalidOperationException("PostgreSQL is not installed: run `sudo apt-get install -y postgresql` (test.sh and .ci/run do this)");
        }

        if (Environment.UserName == "root")
        {
            await RunAsync("chown", "postgres:postgres", _folder.Path);
        }

        await RunPgAsync("initdb", "-D", DataPath, "-A", "trust", "-U", "postgres", "--locale=C.UTF-8", "--no-sync");
        await RunPgAsync("pg_ctl", "-D", DataPath, "-w", "-l", Path.Combine(_folder.Path, "log.txt"), "start", "-o",
            $"-p {Port} -k {_folder.Path} -c listen_addresses=127.0.0.1 -c fsync=off");
        await Deadline.WaitUntilAsync(async () =>
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString);
                await connection.OpenAsync();
                return true;
            }
            catch (NpgsqlException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "PostgreSQL to accept connections");
    }

    /// <summary>A fresh database for one test (tests never share data).</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunPgAsync("pg_ctl", "-D", DataPath, "-m", "immediate", "stop");
        }
        catch (InvalidOperationException)
        {
            // not started
        }

        _folder.Dispose();
    }

    private Task RunPgAsync(string tool, params string[] args) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args])
            : RunAsync(Path.Combine(_bin, tool), args);

    private static async Task RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await stdout}{await stderr}");
        }
    }
}
