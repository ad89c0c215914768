using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.CompilerServices;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// The ADO.NET implementation shared by SQLite and PostgreSQL: the same tables and statements, only connection,
/// DDL and batching differ. Hashes are hex text and sealed content base64 text, so both engines store them alike.
/// </summary>
public abstract class SqlAuditStore(string region) : IAuditStore
{
    protected const string RecordColumns = "seq, event_id, event_type, source, tenant_id, region, subject, occurred_at, recorded_at, content, sealed, prev_hash, hash, ref_id";

    // Ingestion's cache of subject keys (readers always ask the database); bounded, and dropped entry by entry on erasure.
    private const int MaxCachedKeys = 100_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Tenant, string Subject), byte[]> _keys = new();
    private long _erasures;

    public string Region { get; } = region;

    /// <summary>A table name, qualified where the engine keeps one schema per region.</summary>
    protected abstract string T(string table);

    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    protected abstract IEnumerable<string> SchemaStatements();

    /// <summary>
    /// The subject keys live apart from the trail (their own SQLite file, their own PostgreSQL schema or database), so
    /// a backup or copy of the trail holds ciphertext only: destroying a key makes that copy unreadable too.
    /// </summary>
    protected abstract Task<DbConnection> OpenKeysAsync(CancellationToken cancellationToken);

    /// <summary>The qualified name of the subject key table.</summary>
    protected abstract string KeyTable { get; }

    protected abstract IEnumerable<string> KeySchemaStatements();

    /// <summary>The qualified name of the table of erasures (tenant, subject, when), beside the keys.</summary>
    protected abstract string ErasedTable { get; }

    // Erasures are rare and every subject event consults them: all of them are kept in memory, read at start.
    private readonly ConcurrentDictionary<(string Tenant, string Subject), long> _erased = new();

    public virtual async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using (var connection = await OpenAsync(cancellationToken))
        {
            foreach (var statement in SchemaStatements())
            {
                await ExecuteAsync(connection, null, statement, cancellationToken);
            }
        }

        await using (var keys = await OpenKeysAsync(cancellationToken))
        {
            foreach (var statement in KeySchemaStatements())
            {
                await ExecuteAsync(keys, null, statement, cancellationToken);
            }

            await using var read = Command(keys, null, $"SELECT tenant_id, subject, erased_at FROM {ErasedTable}");
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                _erased[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
            }
        }
    }

    public long? ErasedAt(string tenantId, string subject) => _erased.TryGetValue((tenantId, subject), out var at) ? at : null;

    public async Task<ChainHead> ReadHeadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        foreach (var sql in new[]
                 {
                     $"SELECT seq, hash FROM {T("records")} ORDER BY seq DESC LIMIT 1",
                     $"SELECT last_seq, last_hash FROM {T("segments")} ORDER BY last_seq DESC LIMIT 1",
                 })
        {
            await using var command = Command(connection, null, sql);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return new ChainHead(reader.GetInt64(0), reader.GetString(1));
            }
        }

        return ChainHead.Genesis;
    }

    public virtual async Task<HashSet<string>> FindExistingAsync(IReadOnlyCollection<string> eventIds, CancellationToken cancellationToken)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (eventIds.Count == 0)
        {
            return found;
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var names = new List<string>(eventIds.Count);
        var i = 0;
        foreach (var id in eventIds)
        {
            var name = "@i" + i++;
            names.Add(name);
            Add(command, name, id);
        }

        // Archived event ids stay known so a very late redelivery never re-enters the hot trail.
        command.CommandText = $"SELECT event_id FROM {T("event_ids")} WHERE event_id IN ({string.Join(',', names)})";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(reader.GetString(0));
        }

        return found;
    }

    public async Task AppendAsync(IReadOnlyList<AuditRecord> records, Checkpoint? checkpoint, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await InsertRecordsAsync(connection, transaction, records, cancellationToken);
        if (checkpoint is not null)
        {
            await ExecuteAsync(connection, transaction,
                $"INSERT INTO {T("checkpoints")} (region, seq, hash, created_at, signature) VALUES (@region, @seq, @hash, @created, @signature)",
                cancellationToken, ("@region", checkpoint.Region), ("@seq", checkpoint.Seq), ("@hash", checkpoint.Hash),
                ("@created", checkpoint.CreatedAtMs), ("@signature", checkpoint.Signature));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Inserts rows inside the caller's transaction; engines override to batch round trips.</summary>
    protected virtual async Task InsertRecordsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        await using var insert = Command(connection, transaction, InsertRecordSql);
        await using var insertId = Command(connection, transaction, InsertEventIdSql);
        foreach (var record in records)
        {
            insert.Parameters.Clear();
            BindRecord(insert, record, "");
            await insert.ExecuteNonQueryAsync(cancellationToken);
            insertId.Parameters.Clear();
            Add(insertId, "@event_id", record.Entry.EventId);
            await insertId.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    protected string InsertRecordSql => InsertRecordSqlWith("");

    protected string InsertEventIdSql => InsertEventIdSqlWith("");

    protected string InsertRecordSqlWith(string suffix) =>
        $"INSERT INTO {T("records")} ({RecordColumns}) VALUES (@seq{suffix}, @event_id{suffix}, @event_type{suffix}, @source{suffix}, @tenant_id{suffix}, @region{suffix}, @subject{suffix}, @occurred_at{suffix}, @recorded_at{suffix}, @content{suffix}, @sealed{suffix}, @prev_hash{suffix}, @hash{suffix}, @ref_id{suffix})";

    protected string InsertEventIdSqlWith(string suffix) => $"INSERT INTO {T("event_ids")} (event_id) VALUES (@event_id{suffix})";

    protected static void BindRecord(DbCommand command, AuditRecord record, string suffix)
    {
        var e = record.Entry;
        Add(command, "@seq" + suffix, record.Seq);
        Add(command, "@event_id" + suffix, e.EventId);
        Add(command, "@event_type" + suffix, e.EventType);
        Add(command, "@source" + suffix, e.Source);
        Add(command, "@tenant_id" + suffix, e.TenantId);
        Add(command, "@region" + suffix, e.Region);
        Add(command, "@subject" + suffix, e.Subject);
        Add(command, "@occurred_at" + suffix, e.OccurredAtMs);
        Add(command, "@recorded_at" + suffix, record.RecordedAtMs);
        Add(command, "@content" + suffix, e.Content);
        Add(command, "@sealed" + suffix, e.Sealed);
        Add(command, "@prev_hash" + suffix, record.PrevHash);
        Add(command, "@hash" + suffix, record.Hash);
        Add(command, "@ref_id" + suffix, e.RefId);
    }

    public async IAsyncEnumerable<AuditRecord> ReadAsync(long fromSeq, long toSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"SELECT {RecordColumns} FROM {T("records")} WHERE seq >= @from AND seq <= @to ORDER BY seq", ("@from", fromSeq), ("@to", toSeq));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return ReadRecord(reader);
        }
    }

    public virtual async IAsyncEnumerable<ChainLink> ReadLinksAsync(long fromSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var record in ReadAsync(fromSeq, long.MaxValue, cancellationToken))
        {
            yield return new ChainLink(record.Seq, record.PrevHash, record.Hash, ChainHash.Matches(record.PrevHash, record.Entry, record.RecordedAtMs, record.Hash));
        }
    }

    public async Task<AuditRecord?> GetByEventIdAsync(string eventId, CancellationToken cancellationToken)
    {
        var found = await QueryRecordsAsync($"SELECT {RecordColumns} FROM {T("records")} WHERE event_id = @id", cancellationToken, ("@id", eventId));
        return found.Count == 0 ? null : found[0];
    }

    public Task<List<AuditRecord>> ReadByRefIdAsync(string refId, CancellationToken cancellationToken) =>
        QueryRecordsAsync($"SELECT {RecordColumns} FROM {T("records")} WHERE ref_id = @ref ORDER BY seq", cancellationToken, ("@ref", refId));

    public Task<List<AuditRecord>> ReadBySubjectAsync(string tenantId, string subject, CancellationToken cancellationToken) =>
        QueryRecordsAsync($"SELECT {RecordColumns} FROM {T("records")} WHERE tenant_id = @tenant AND subject = @subject ORDER BY seq",
            cancellationToken, ("@tenant", tenantId), ("@subject", subject));

    public async Task<List<Checkpoint>> ReadCheckpointsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT region, seq, hash, created_at, signature FROM {T("checkpoints")} ORDER BY seq");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var checkpoints = new List<Checkpoint>();
        while (await reader.ReadAsync(cancellationToken))
        {
            checkpoints.Add(new Checkpoint(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4)));
        }

        return checkpoints;
    }

    public async Task<List<ArchiveSegment>> ReadSegmentsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            $"SELECT first_seq, last_seq, prev_hash, last_hash, file_name, file_sha256, created_at, delete_after, deleted_at FROM {T("segments")} ORDER BY first_seq");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var segments = new List<ArchiveSegment>();
        while (await reader.ReadAsync(cancellationToken))
        {
            segments.Add(new ArchiveSegment(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.GetInt64(6), reader.GetInt64(7), reader.IsDBNull(8) ? null : reader.GetInt64(8)));
        }

        return segments;
    }

    public async Task CommitSegmentAsync(ArchiveSegment segment, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var exists = Command(connection, transaction, $"SELECT last_seq, file_sha256 FROM {T("segments")} WHERE first_seq = @first", ("@first", segment.FirstSeq)))
        await using (var reader = await exists.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                // The same segment committed again (a rerun) is a no-op; another one from the same record is a bug that
                // would leave its file unreferenced, so it is refused rather than ignored.
                if (reader.GetInt64(0) == segment.LastSeq && reader.GetString(1) == segment.FileSha256)
                {
                    return;
                }

                throw new InvalidOperationException(
                    $"a different segment starting at record {segment.FirstSeq} (to {reader.GetInt64(0)}) is already committed in {Region}");
            }
        }

        await ExecuteAsync(connection, transaction,
            $"INSERT INTO {T("segments")} (first_seq, last_seq, prev_hash, last_hash, file_name, file_sha256, created_at, delete_after) VALUES (@first, @last, @prev, @lasthash, @file, @sha, @created, @deleteafter)",
            cancellationToken, ("@first", segment.FirstSeq), ("@last", segment.LastSeq), ("@prev", segment.PrevHash), ("@lasthash", segment.LastHash),
            ("@file", segment.FileName), ("@sha", segment.FileSha256), ("@created", segment.CreatedAtMs), ("@deleteafter", segment.DeleteAfterMs));
        await ExecuteAsync(connection, transaction, $"DELETE FROM {T("records")} WHERE seq >= @first AND seq <= @last",
            cancellationToken, ("@first", segment.FirstSeq), ("@last", segment.LastSeq));
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task MarkSegmentDeletedAsync(long firstSeq, long deletedAtMs, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, $"UPDATE {T("segments")} SET deleted_at = @at WHERE first_seq = @first AND deleted_at IS NULL",
            cancellationToken, ("@at", deletedAtMs), ("@first", firstSeq));
    }

    public async Task<byte[]> GetOrCreateSubjectKeyAsync(string tenantId, string subject, Func<byte[]> newKey, CancellationToken cancellationToken)
    {
        // Every ingested record of a subject needs their key: keep it in memory rather than read it per event.
        if (_keys.TryGetValue((tenantId, subject), out var cached))
        {
            return cached;
        }

        var erasures = Volatile.Read(ref _erasures);
        var key = await ReadOrCreateSubjectKeyAsync(tenantId, subject, newKey, cancellationToken);
        if (_keys.Count >= MaxCachedKeys)
        {
            _keys.Clear();
        }

        // Cache first, then check no erasure ran meanwhile: an erasure racing this read must never leave its key cached.
        _keys[(tenantId, subject)] = key;
        if (Volatile.Read(ref _erasures) != erasures)
        {
            _keys.TryRemove((tenantId, subject), out _);
        }

        return key;
    }

    private async Task<byte[]> ReadOrCreateSubjectKeyAsync(string tenantId, string subject, Func<byte[]> newKey, CancellationToken cancellationToken)
    {
        if (await GetSubjectKeyAsync(tenantId, subject, cancellationToken) is { } existing)
        {
            return existing;
        }

        await using (var connection = await OpenKeysAsync(cancellationToken))
        {
            await ExecuteAsync(connection, null,
                $"INSERT INTO {KeyTable} (tenant_id, subject, key_material) VALUES (@tenant, @subject, @key) ON CONFLICT (tenant_id, subject) DO NOTHING",
                cancellationToken, ("@tenant", tenantId), ("@subject", subject), ("@key", Convert.ToBase64String(newKey())));
        }

        // Read back: a concurrent creator may have won, and everyone must use the same key.
        return await GetSubjectKeyAsync(tenantId, subject, cancellationToken) ?? throw new InvalidOperationException("subject key vanished after creation");
    }

    public async Task<byte[]?> GetSubjectKeyAsync(string tenantId, string subject, CancellationToken cancellationToken)
    {
        await using var connection = await OpenKeysAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT key_material FROM {KeyTable} WHERE tenant_id = @tenant AND subject = @subject",
            ("@tenant", tenantId), ("@subject", subject));
        return await command.ExecuteScalarAsync(cancellationToken) is string key ? Convert.FromBase64String(key) : null;
    }

    public async Task<bool> DeleteSubjectKeyAsync(string tenantId, string subject, long erasedAtMs, CancellationToken cancellationToken)
    {
        bool deleted;
        await using (var connection = await OpenKeysAsync(cancellationToken))
        {
            // Remembered first: an event of this subject that arrives late (a redelivery, an outbox backlog) must not
            // get a fresh key that would make its text readable again.
            await ExecuteAsync(connection, null,
                $"INSERT INTO {ErasedTable} (tenant_id, subject, erased_at) VALUES (@tenant, @subject, @at) ON CONFLICT (tenant_id, subject) DO UPDATE SET erased_at = @at",
                cancellationToken, ("@tenant", tenantId), ("@subject", subject), ("@at", erasedAtMs));
            _erased[(tenantId, subject)] = erasedAtMs;
            deleted = await ExecuteAsync(connection, null, $"DELETE FROM {KeyTable} WHERE tenant_id = @tenant AND subject = @subject",
                cancellationToken, ("@tenant", tenantId), ("@subject", subject)) > 0;
        }

        Interlocked.Increment(ref _erasures);
        _keys.TryRemove((tenantId, subject), out _);
        return deleted;
    }

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    private async Task<List<AuditRecord>> QueryRecordsAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<AuditRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(ReadRecord(reader));
        }

        return records;
    }

    private static AuditRecord ReadRecord(DbDataReader r) => new(
        r.GetInt64(0),
        new AuditEntry(r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6),
            r.GetInt64(7), r.GetString(9), r.IsDBNull(10) ? null : r.GetString(10), r.IsDBNull(13) ? null : r.GetString(13)),
        r.GetInt64(8), r.GetString(11), r.GetString(12));

    protected static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            Add(command, name, value);
        }

        return command;
    }

    protected static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
