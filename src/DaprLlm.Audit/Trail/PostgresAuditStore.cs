using System.Data.Common;
using Npgsql;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// PostgreSQL for production: one schema per region (<c>audit_eu</c>, <c>audit_us</c>) in the configured database; the
/// region's subject keys in schema <c>audit_keys_eu</c> of the key database (by default the same database; give the key
/// store its own database so that backups of the trail hold no key).
/// </summary>
public sealed class PostgresAuditStore : SqlAuditStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _keysDataSource;

    public PostgresAuditStore(string region, string connectionString, string? keysConnectionString = null) : base(region)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(region, "^[a-z][a-z0-9_]{0,30}$"))
        {
            throw new ArgumentException($"region '{region}' cannot name a schema", nameof(region));
        }

        Schema = "audit_" + region;
        KeySchema = "audit_keys_" + region;
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _keysDataSource = string.IsNullOrWhiteSpace(keysConnectionString) ? _dataSource : NpgsqlDataSource.Create(keysConnectionString);
    }

    public string Schema { get; }

    public string KeySchema { get; }

    protected override string T(string table) => $"{Schema}.{table}";

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await _dataSource.OpenConnectionAsync(cancellationToken);

    protected override async Task<DbConnection> OpenKeysAsync(CancellationToken cancellationToken) => await _keysDataSource.OpenConnectionAsync(cancellationToken);

    protected override string KeyTable => $"{KeySchema}.subject_keys";

    protected override IEnumerable<string> KeySchemaStatements() =>
    [
        $"CREATE SCHEMA IF NOT EXISTS {KeySchema}",
        $"CREATE TABLE IF NOT EXISTS {KeyTable} (tenant_id TEXT NOT NULL, subject TEXT NOT NULL, key_material TEXT NOT NULL, PRIMARY KEY (tenant_id, subject))",
    ];

    // One round trip per batch instead of two per record.
    protected override async Task InsertRecordsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch((NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        foreach (var record in records)
        {
            var insert = new NpgsqlBatchCommand(InsertRecordSql);
            AddBatch(insert, record);
            batch.BatchCommands.Add(insert);
            var insertId = new NpgsqlBatchCommand(InsertEventIdSql);
            insertId.Parameters.AddWithValue("event_id", record.Entry.EventId);
            batch.BatchCommands.Add(insertId);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddBatch(NpgsqlBatchCommand command, AuditRecord record)
    {
        var e = record.Entry;
        var p = command.Parameters;
        p.AddWithValue("seq", record.Seq);
        p.AddWithValue("event_id", e.EventId);
        p.AddWithValue("event_type", e.EventType);
        p.AddWithValue("source", e.Source);
        p.AddWithValue("tenant_id", e.TenantId);
        p.AddWithValue("region", e.Region);
        p.AddWithValue("subject", (object?)e.Subject ?? DBNull.Value);
        p.AddWithValue("occurred_at", e.OccurredAtMs);
        p.AddWithValue("recorded_at", record.RecordedAtMs);
        p.AddWithValue("content", e.Content);
        p.AddWithValue("sealed", (object?)e.Sealed ?? DBNull.Value);
        p.AddWithValue("prev_hash", record.PrevHash);
        p.AddWithValue("hash", record.Hash);
        p.AddWithValue("ref_id", (object?)e.RefId ?? DBNull.Value);
    }

    protected override IEnumerable<string> SchemaStatements() =>
    [
        $"CREATE SCHEMA IF NOT EXISTS {Schema}",
        $"""
        CREATE TABLE IF NOT EXISTS {Schema}.records (
            seq BIGINT PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL, source TEXT NOT NULL,
            tenant_id TEXT NOT NULL, region TEXT NOT NULL, subject TEXT NULL, occurred_at BIGINT NOT NULL,
            recorded_at BIGINT NOT NULL, content TEXT NOT NULL, sealed TEXT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, ref_id TEXT NULL)
        """,
        $"CREATE INDEX IF NOT EXISTS records_subject ON {Schema}.records (tenant_id, subject)",
        $"CREATE INDEX IF NOT EXISTS records_recorded ON {Schema}.records (recorded_at)",
        $"CREATE INDEX IF NOT EXISTS records_ref ON {Schema}.records (ref_id)",
        $"CREATE TABLE IF NOT EXISTS {Schema}.event_ids (event_id TEXT PRIMARY KEY)",
        $"CREATE TABLE IF NOT EXISTS {Schema}.checkpoints (seq BIGINT PRIMARY KEY, region TEXT NOT NULL, hash TEXT NOT NULL, created_at BIGINT NOT NULL, signature TEXT NOT NULL)",
        $"""
        CREATE TABLE IF NOT EXISTS {Schema}.segments (
            first_seq BIGINT PRIMARY KEY, last_seq BIGINT NOT NULL, prev_hash TEXT NOT NULL, last_hash TEXT NOT NULL,
            file_name TEXT NOT NULL, file_sha256 TEXT NOT NULL, created_at BIGINT NOT NULL, delete_after BIGINT NOT NULL, deleted_at BIGINT NULL)
        """,
    ];

    public override async ValueTask DisposeAsync()
    {
        if (!ReferenceEquals(_keysDataSource, _dataSource))
        {
            await _keysDataSource.DisposeAsync();
        }

        await _dataSource.DisposeAsync();
        await base.DisposeAsync();
    }
}
