using Microsoft.Data.Sqlite;

namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>How an injected fault makes the sidecar's writes of one key fail.</summary>
public enum SqliteFault
{
    /// <summary>The write throws (a store error).</summary>
    Error,

    /// <summary>The write changes nothing, which the store reports as an ETag mismatch (every race lost).</summary>
    LostRace,
}

/// <summary>
/// Makes a sidecar's state.sqlite writes of one key fail, from outside its process, with triggers on daprd's
/// "state" table; disposing drops them and writes work again. Reads are never affected.
/// </summary>
public sealed class SqliteFaults : IAsyncDisposable
{
    private readonly string _database;
    private readonly string _name;

    private SqliteFaults(string database, string name)
    {
        _database = database;
        _name = name;
    }

    public static async Task<SqliteFaults> FailWritesAsync(string database, string key, SqliteFault fault)
    {
        var name = $"fault_{Guid.NewGuid():N}";
        var literal = "'" + key.Replace("'", "''", StringComparison.Ordinal) + "'";
        var raise = fault == SqliteFault.Error ? "RAISE(ABORT, 'injected store failure')" : "RAISE(IGNORE)";
        await ExecuteAsync(database, $"""
            CREATE TRIGGER {name}_insert BEFORE INSERT ON state WHEN NEW.key = {literal} BEGIN SELECT {raise}; END;
            CREATE TRIGGER {name}_update BEFORE UPDATE ON state WHEN OLD.key = {literal} BEGIN SELECT {raise}; END;
            CREATE TRIGGER {name}_delete BEFORE DELETE ON state WHEN OLD.key = {literal} BEGIN SELECT {raise}; END;
            """);
        return new SqliteFaults(database, name);
    }

    public async ValueTask DisposeAsync() => await ExecuteAsync(_database, $"""
        DROP TRIGGER IF EXISTS {_name}_insert;
        DROP TRIGGER IF EXISTS {_name}_update;
        DROP TRIGGER IF EXISTS {_name}_delete;
        """);

    private static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Pooling=False;Default Timeout=30");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
