using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using DaprLlm.Sidecar.Components;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Sidecar.State;

/// <summary>
/// state.sqlite with daprd's schema: table (default "state") key, value, is_binary, etag (a UUID),
/// expiration_time, update_time, plus daprd's metadata table with its "migrations" row. WAL mode and
/// IMMEDIATE transactions make one file safe for several sidecar processes.
/// </summary>
public sealed partial class SqliteStateStore : IStateStore, IDisposable
{
    private readonly string _connectionString;
    private readonly string _table;
    private readonly ITimer? _cleanup;

    private SqliteStateStore(string connectionString, string table, bool isActorStateStore, TimeSpan cleanupInterval, TimeProvider time)
    {
        _connectionString = connectionString;
        _table = table;
        IsActorStateStore = isActorStateStore;
        Features = isActorStateStore ? ["ETAG", "TRANSACTIONAL", "TTL", "ACTOR"] : ["ETAG", "TRANSACTIONAL", "TTL"];
        if (cleanupInterval > TimeSpan.Zero)
        {
            _cleanup = time.CreateTimer(_ => DeleteExpired(), null, cleanupInterval, cleanupInterval);
        }
    }

    public bool IsActorStateStore { get; }

    public IReadOnlyList<string> Features { get; }

    /// <summary>Opens (and creates) the database with daprd's metadata: connectionString, tableName, metadataTableName, disableWAL, busyTimeout, cleanupInterval.</summary>
    public static SqliteStateStore Open(ComponentSpec spec, TimeProvider time)
    {
        var table = spec.GetOrDefault("tableName", "state");
        var metadataTable = spec.GetOrDefault("metadataTableName", "metadata");
        foreach (var name in new[] { table, metadataTable })
        {
            if (!ValidTableName().IsMatch(name))
            {
                throw new ComponentConfigException(spec, $"invalid table name '{name}'");
            }
        }

        var busy = spec.GetDuration("busyTimeout", TimeSpan.FromSeconds(2));
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = DataSource(spec.Require("connectionString")),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Microsoft.Data.Sqlite retries SQLITE_BUSY until the command timeout: our busy timeout.
            DefaultTimeout = Math.Max(30, (int)Math.Ceiling(busy.TotalSeconds)),
        };
        var cleanup = spec.Get("cleanupInterval") is { Length: > 0 }
            ? spec.GetDuration("cleanupInterval", TimeSpan.Zero)
            : TimeSpan.FromSeconds(spec.GetInt("cleanupIntervalInSeconds", 0));
        var store = new SqliteStateStore(builder.ToString(), table, spec.GetBool("actorStateStore"), cleanup, time);
        store.Migrate(metadataTable, !spec.GetBool("disableWAL"));
        return store;
    }

    public async Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken) =>
        (await BulkGetAsync([key], cancellationToken))[0];

    public async Task<IReadOnlyList<StateEntry?>> BulkGetAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        var names = keys.Select((_, i) => "$k" + i.ToString(CultureInfo.InvariantCulture)).ToList();
        command.CommandText = $"""
            SELECT key, value, is_binary, etag, expiration_time FROM {_table}
            WHERE key IN ({string.Join(',', names)}) AND (expiration_time IS NULL OR expiration_time > CURRENT_TIMESTAMP)
            """;
        for (var i = 0; i < keys.Count; i++)
        {
            command.Parameters.AddWithValue(names[i], keys[i]);
        }

        var found = new Dictionary<string, StateEntry>(StringComparer.Ordinal);
        using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = reader.GetString(0);
                var text = reader.GetString(1);
                var value = reader.GetBoolean(2) ? Convert.FromBase64String(text) : Encoding.UTF8.GetBytes(text);
                DateTimeOffset? expires = reader.IsDBNull(4)
                    ? null
                    : DateTime.SpecifyKind(DateTime.Parse(reader.GetString(4), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), DateTimeKind.Utc);
                found[key] = new StateEntry(key, value, reader.GetString(3), expires);
            }
        }

        return keys.Select(k => found.GetValueOrDefault(k)).ToList();
    }

    public Task SetAsync(StateSetRequest request, CancellationToken cancellationToken) =>
        TransactAsync([StateOperation.Upsert(request)], cancellationToken);

    public Task DeleteAsync(StateDeleteRequest request, CancellationToken cancellationToken) =>
        TransactAsync([StateOperation.Remove(request)], cancellationToken);

    public async Task TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken)
    {
        using var connection = await OpenAsync(cancellationToken);

        // BEGIN IMMEDIATE takes the write lock up front, so two sidecars never deadlock upgrading a read lock.
        using var transaction = connection.BeginTransaction(deferred: false);
        foreach (var op in operations)
        {
            if (op.Set is { } set)
            {
                Set(connection, transaction, set);
            }
            else
            {
                Delete(connection, transaction, op.Delete!);
            }
        }

        transaction.Commit();
    }

    public void Dispose()
    {
        _cleanup?.Dispose();
        SqliteConnection.ClearAllPools();
    }

    private void Set(SqliteConnection connection, SqliteTransaction transaction, StateSetRequest set)
    {
        // Stored as daprd does: JSON as text, other bytes base64 with is_binary = 1.
        var isJson = IsJson(set.Value);
        var value = isJson ? Encoding.UTF8.GetString(set.Value) : Convert.ToBase64String(set.Value);
        // components-contrib's ParseTTL, which state.sqlite uses (state.redis and state.in-memory accept any negative).
        if (set.Ttl < TimeSpan.FromSeconds(-1))
        {
            throw new StateRequestException("error parsing TTL: incorrect value for metadata 'ttlInSeconds': must be -1 or greater");
        }

        var ttlSeconds = set.Ttl is { } ttl && ttl > TimeSpan.Zero ? Math.Max(1, (long)Math.Ceiling(ttl.TotalSeconds)) : 0;
        var expiration = ttlSeconds > 0 ? $"DATETIME(CURRENT_TIMESTAMP, '+{ttlSeconds.ToString(CultureInfo.InvariantCulture)} seconds')" : "NULL";
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$key", set.Key);
        command.Parameters.AddWithValue("$value", value);
        command.Parameters.AddWithValue("$binary", !isJson);
        command.Parameters.AddWithValue("$etag", Guid.NewGuid().ToString());
        if (set.ETag is { Length: > 0 } etag)
        {
            command.CommandText = $"""
                UPDATE {_table} SET value = $value, etag = $etag, is_binary = $binary, update_time = CURRENT_TIMESTAMP, expiration_time = {expiration}
                WHERE key = $key AND etag = $old AND (expiration_time IS NULL OR expiration_time > CURRENT_TIMESTAMP)
                """;
            command.Parameters.AddWithValue("$old", etag);
            if (command.ExecuteNonQuery() == 0)
            {
                throw new StateETagException(set.Key);
            }
        }
        else if (set.Concurrency == StateConcurrency.FirstWrite)
        {
            // An expired row that was not yet cleaned up counts as absent.
            command.CommandText = $"""
                INSERT OR REPLACE INTO {_table} (key, value, is_binary, etag, expiration_time, update_time)
                SELECT $key, $value, $binary, $etag, {expiration}, CURRENT_TIMESTAMP
                WHERE NOT EXISTS (SELECT 1 FROM {_table} WHERE key = $key AND (expiration_time IS NULL OR expiration_time > CURRENT_TIMESTAMP))
                """;
            if (command.ExecuteNonQuery() == 0)
            {
                throw new StateETagException(set.Key);
            }
        }
        else
        {
            command.CommandText = $"""
                INSERT OR REPLACE INTO {_table} (key, value, is_binary, etag, update_time, expiration_time)
                VALUES ($key, $value, $binary, $etag, CURRENT_TIMESTAMP, {expiration})
                """;
            command.ExecuteNonQuery();
        }
    }

    private void Delete(SqliteConnection connection, SqliteTransaction transaction, StateDeleteRequest delete)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$key", delete.Key);
        if (delete.ETag is { Length: > 0 } etag)
        {
            command.CommandText = $"DELETE FROM {_table} WHERE key = $key AND etag = $etag";
            command.Parameters.AddWithValue("$etag", etag);
            if (command.ExecuteNonQuery() == 0)
            {
                throw new StateETagException(delete.Key);
            }
        }
        else
        {
            command.CommandText = $"DELETE FROM {_table} WHERE key = $key";
            command.ExecuteNonQuery();
        }
    }

    private void Migrate(string metadataTable, bool wal)
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        if (wal)
        {
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA journal_mode=WAL;";
            pragma.ExecuteNonQuery();
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            CREATE TABLE IF NOT EXISTS {metadataTable} (key text NOT NULL PRIMARY KEY, value text NOT NULL);
            CREATE TABLE IF NOT EXISTS {_table} (
              key TEXT NOT NULL PRIMARY KEY,
              value TEXT NOT NULL,
              is_binary BOOLEAN NOT NULL,
              etag TEXT NOT NULL,
              expiration_time TIMESTAMP DEFAULT NULL,
              update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
            );
            INSERT OR IGNORE INTO {metadataTable} (key, value) VALUES ('migrations', '1');
            """;
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    private void DeleteExpired()
    {
        try
        {
            using var connection = new SqliteConnection(_connectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM {_table} WHERE expiration_time IS NOT NULL AND expiration_time < CURRENT_TIMESTAMP";
            command.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            // Best effort: reads ignore expired rows anyway; the next tick tries again.
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static bool IsJson(byte[] value)
    {
        try
        {
            var reader = new Utf8JsonReader(value);
            return JsonDocument.TryParseValue(ref reader, out var doc) && DisposeTrue(doc) && reader.BytesConsumed == value.Length;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool DisposeTrue(JsonDocument? doc)
    {
        doc?.Dispose();
        return true;
    }

    /// <summary>daprd's connectionString ("file:data.db?_pragma=...", "data.db", ":memory:") as a file path.</summary>
    private static string DataSource(string connectionString)
    {
        var text = connectionString.Trim();
        if (text.StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase))
        {
            return new SqliteConnectionStringBuilder(text).DataSource;
        }

        if (text.StartsWith("file:", StringComparison.Ordinal))
        {
            text = text["file:".Length..];
        }

        var query = text.IndexOf('?', StringComparison.Ordinal);
        return query >= 0 ? text[..query] : text;
    }

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex ValidTableName();
}

/// <summary>Builds state.sqlite components.</summary>
public sealed class SqliteStateStoreFactory(TimeProvider time) : IComponentFactory
{
    public IReadOnlyCollection<string> Types { get; } = ["state.sqlite"];

    public ValueTask<object> CreateAsync(ComponentSpec spec, CancellationToken cancellationToken) =>
        ValueTask.FromResult<object>(SqliteStateStore.Open(spec, time));
}
