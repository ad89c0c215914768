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
        $"CREATE TABLE IF NOT EXISTS {ErasedTable} (tenant_id TEXT NOT NULL, subject TEXT NOT NULL, erased_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, subject))",
    ];

    protected override string ErasedTable => $"{KeySchema}.erased_subjects";

    // One parameter (a text[]) instead of one per id: a batch of 1,000 ids is one short statement to parse and plan.
    public override async Task<HashSet<string>> FindExistingAsync(IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (eventIds.Count == 0)
        {
            return found;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT event_id FROM {T("event_ids")} WHERE event_id = ANY(@ids)", connection);
        command.Parameters.AddWithValue("ids", eventIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(reader.GetString(0));
        }

        return found;
    }

    // The whole batch as two statements over column arrays (unnest), sent in one round trip: PostgreSQL parses and
    // plans two statements per batch instead of two per record, which was where the time went (see bench/RESULTS.md).
    // A conflicting event id or seq still fails the whole transaction, as the per-row INSERTs did.
    protected override async Task InsertRecordsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        var n = records.Count;
        if (n == 0)
        {
            return;
        }

        var seq = new long[n];
        var eventId = new string[n];
        var eventType = new string[n];
        var source = new string[n];
        var tenant = new string[n];
        var region = new string[n];
        var subject = new string?[n];
        var occurred = new long[n];
        var recorded = new long[n];
        var content = new string[n];
        var sealedContent = new string?[n];
        var prevHash = new string[n];
        var hash = new string[n];
        var refId = new string?[n];
        for (var i = 0; i < n; i++)
        {
            var r = records[i];
            var e = r.Entry;
            (seq[i], eventId[i], eventType[i], source[i], tenant[i], region[i], subject[i]) = (r.Seq, e.EventId, e.EventType, e.Source, e.TenantId, e.Region, e.Subject);
            (occurred[i], recorded[i], content[i], sealedContent[i], prevHash[i], hash[i], refId[i]) = (e.OccurredAtMs, r.RecordedAtMs, e.Content, e.Sealed, r.PrevHash, r.Hash, e.RefId);
        }

        await using var batch = new NpgsqlBatch((NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        var insert = new NpgsqlBatchCommand(
            $"INSERT INTO {T("records")} ({RecordColumns}) SELECT * FROM unnest(@seq, @event_id, @event_type, @source, @tenant_id, @region, @subject, @occurred_at, @recorded_at, @content, @sealed, @prev_hash, @hash, @ref_id)");
        var p = insert.Parameters;
        p.AddWithValue("seq", seq);
        p.AddWithValue("event_id", eventId);
        p.AddWithValue("event_type", eventType);
        p.AddWithValue("source", source);
        p.AddWithValue("tenant_id", tenant);
        p.AddWithValue("region", region);
        p.AddWithValue("subject", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text, subject);
        p.AddWithValue("occurred_at", occurred);
        p.AddWithValue("recorded_at", recorded);
        p.AddWithValue("content", content);
        p.AddWithValue("sealed", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text, sealedContent);
        p.AddWithValue("prev_hash", prevHash);
        p.AddWithValue("hash", hash);
        p.AddWithValue("ref_id", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text, refId);
        batch.BatchCommands.Add(insert);
        var insertIds = new NpgsqlBatchCommand($"INSERT INTO {T("event_ids")} (event_id) SELECT unnest(@ids)");
        insertIds.Parameters.AddWithValue("ids", eventId);
        batch.BatchCommands.Add(insertIds);
        await batch.ExecuteNonQueryAsync(cancellationToken);
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
