using DaprLlm.Audit.Trail;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Audit.Tests.Trail;

/// <summary>The store contract on real SQLite files (WAL).</summary>
public sealed class SqliteAuditStoreTests : AuditStoreContract, IDisposable
{
    private readonly TempFolder _folder = new("daprllm-audit-sqlite");

    protected override async Task<IAuditStore> CreateStoreAsync(string region = "eu")
    {
        var store = new SqliteAuditStore(region, Path.Combine(_folder.Path, $"{Guid.NewGuid():N}-{region}.db"));
        await store.InitializeAsync(Ct);
        return store;
    }

    protected override async Task ExecuteSqlAsync(IAuditStore store, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={((SqliteAuditStore)store).Path}");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql.Replace("{records}", "records", StringComparison.Ordinal).Replace("{checkpoints}", "checkpoints", StringComparison.Ordinal);
        await command.ExecuteNonQueryAsync(Ct);
    }

    [Fact]
    public async Task The_database_runs_in_wal_mode()
    {
        await using var store = await CreateStoreAsync();
        await using var connection = new SqliteConnection($"Data Source={((SqliteAuditStore)store).Path}");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync(Ct));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }
}
