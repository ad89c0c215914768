using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// The embedded default: one SQLite file per region, WAL journal, full fsync on commit; the region's subject keys in a
/// file of their own beside it (<c>audit-eu.db</c> → <c>audit-eu.keys.db</c>), so a copy of the trail holds no key.
/// </summary>
public sealed class SqliteAuditStore(string region, string path) : SqlAuditStore(region)
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();
    private readonly string _keysConnectionString = new SqliteConnectionStringBuilder { DataSource = KeysPathFor(path), Pooling = true }.ToString();

    public string Path { get; } = path;

    /// <summary>The subject key file of a trail file.</summary>
    public string KeysPath => KeysPathFor(Path);

    private static string KeysPathFor(string path) => System.IO.Path.ChangeExtension(path, ".keys.db");

    protected override string T(string table) => table;

    public override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        await using (var connection = await OpenAsync(cancellationToken))
        {
            // WAL: readers (verify, exports) never block the writer. FULL: a commit is on disk before we acknowledge.
            await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL", cancellationToken);
        }

        await base.InitializeAsync(cancellationToken);
        await MoveKeysOutOfTheTrailAsync(cancellationToken);
    }

    protected override Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => OpenAsync(_connectionString, cancellationToken);

    protected override Task<DbConnection> OpenKeysAsync(CancellationToken cancellationToken) => OpenAsync(_keysConnectionString, cancellationToken);

    protected override string KeyTable => "subject_keys";

    // Verify reads every row: straight from SQLite's own UTF-8 buffers (no string per column), hashed in place.
    public override async IAsyncEnumerable<ChainLink> ReadLinksAsync(long fromSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = (SqliteConnection)await OpenAsync(cancellationToken);
        using var rows = new SqliteLinkReader(connection, $"SELECT {RecordColumns} FROM records WHERE seq >= @from ORDER BY seq", fromSeq);
        while (rows.Next(cancellationToken) is { } link)
        {
            yield return link;
        }
    }

    private static async Task<DbConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        // secure_delete: a shredded subject key is overwritten in the file, not just unlinked from the b-tree.
        await ExecuteAsync(connection, null, "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA busy_timeout=10000", cancellationToken);
        return connection;
    }

    /// <summary>Trails written before keys had their own file kept them in the trail file: move them (rerun-safe).</summary>
    private async Task MoveKeysOutOfTheTrailAsync(CancellationToken cancellationToken)
    {
        await using var trail = await OpenAsync(cancellationToken);
        await using (var exists = Command(trail, null, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'subject_keys'"))
        {
            if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                return;
            }
        }

        var keys = new List<(string Tenant, string Subject, string Key)>();
        await using (var read = Command(trail, null, "SELECT tenant_id, subject, key_material FROM subject_keys"))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                keys.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        await using (var target = await OpenKeysAsync(cancellationToken))
        await using (var transaction = await target.BeginTransactionAsync(cancellationToken))
        {
            foreach (var (tenant, subject, key) in keys)
            {
                await ExecuteAsync(target, transaction, "INSERT INTO subject_keys (tenant_id, subject, key_material) VALUES (@tenant, @subject, @key) ON CONFLICT (tenant_id, subject) DO NOTHING",
                    cancellationToken, ("@tenant", tenant), ("@subject", subject), ("@key", key));
            }

            await transaction.CommitAsync(cancellationToken);
        }

        // Only once the keys are safe in their own file (secure_delete overwrites the dropped pages).
        await ExecuteAsync(trail, null, "DROP TABLE subject_keys", cancellationToken);
    }

    protected override IEnumerable<string> SchemaStatements() =>
    [
        """
        CREATE TABLE IF NOT EXISTS records (
            seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL, source TEXT NOT NULL,
            tenant_id TEXT NOT NULL, region TEXT NOT NULL, subject TEXT NULL, occurred_at INTEGER NOT NULL,
            recorded_at INTEGER NOT NULL, content TEXT NOT NULL, sealed TEXT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, ref_id TEXT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS records_subject ON records (tenant_id, subject)",
        "CREATE INDEX IF NOT EXISTS records_recorded ON records (recorded_at)",
        "CREATE INDEX IF NOT EXISTS records_ref ON records (ref_id)",
        "CREATE TABLE IF NOT EXISTS event_ids (event_id TEXT PRIMARY KEY)",
        "CREATE TABLE IF NOT EXISTS checkpoints (seq INTEGER PRIMARY KEY, region TEXT NOT NULL, hash TEXT NOT NULL, created_at INTEGER NOT NULL, signature TEXT NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS segments (
            first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, prev_hash TEXT NOT NULL, last_hash TEXT NOT NULL,
            file_name TEXT NOT NULL, file_sha256 TEXT NOT NULL, created_at INTEGER NOT NULL, delete_after INTEGER NOT NULL, deleted_at INTEGER NULL)
        """,
    ];

    protected override IEnumerable<string> KeySchemaStatements() =>
    [
        "CREATE TABLE IF NOT EXISTS subject_keys (tenant_id TEXT NOT NULL, subject TEXT NOT NULL, key_material TEXT NOT NULL, PRIMARY KEY (tenant_id, subject))",
        "CREATE TABLE IF NOT EXISTS erased_subjects (tenant_id TEXT NOT NULL, subject TEXT NOT NULL, erased_at INTEGER NOT NULL, PRIMARY KEY (tenant_id, subject))",
    ];

    protected override string ErasedTable => "erased_subjects";
}
