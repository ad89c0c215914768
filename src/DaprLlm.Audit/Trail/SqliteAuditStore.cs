using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Audit.Trail;

/// <summary>The embedded default: one SQLite file per region, WAL journal, full fsync on commit.</summary>
public sealed class SqliteAuditStore(string region, string path) : SqlAuditStore(region)
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();

    public string Path { get; } = path;

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
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // secure_delete: a shredded subject key is overwritten in the file, not just unlinked from the b-tree.
        await ExecuteAsync(connection, null, "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA busy_timeout=10000", cancellationToken);
        return connection;
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
        "CREATE TABLE IF NOT EXISTS subject_keys (tenant_id TEXT NOT NULL, subject TEXT NOT NULL, key_material TEXT NOT NULL, PRIMARY KEY (tenant_id, subject))",
    ];
}
