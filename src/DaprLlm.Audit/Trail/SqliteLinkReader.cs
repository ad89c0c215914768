using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// Steps a statement over <see cref="SqlAuditStore"/>'s record columns with SQLite's C API and turns each row into a
/// <see cref="ChainLink"/>, hashing the columns' UTF-8 bytes where SQLite holds them. Only the two hash columns become
/// strings; ADO.NET's reader would decode all ten text columns first, and that decoding was half of verify's time.
/// Conversions are the ones Microsoft.Data.Sqlite makes (column_int64 for integers, the text bytes for text).
/// </summary>
internal sealed class SqliteLinkReader : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;
    private readonly RecordHasher _hasher = new();

    public SqliteLinkReader(SqliteConnection connection, string sql, long fromSeq)
    {
        _connection = connection;
        Check(raw.sqlite3_prepare_v2(connection.Handle, sql, out _statement));
        Check(raw.sqlite3_bind_int64(_statement, raw.sqlite3_bind_parameter_index(_statement, "@from"), fromSeq));
    }

    /// <summary>The next row's link, or null after the last row.</summary>
    public ChainLink? Next(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var rc = raw.sqlite3_step(_statement);
        if (rc == raw.SQLITE_DONE)
        {
            return null;
        }

        if (rc != raw.SQLITE_ROW)
        {
            Check(rc);
        }

        // Column order: seq, event_id, event_type, source, tenant_id, region, subject, occurred_at, recorded_at,
        // content, sealed, prev_hash, hash, ref_id (SqlAuditStore.RecordColumns).
        var s = _statement;
        var record = new Utf8Record
        {
            EventId = Text(s, 1),
            EventType = Text(s, 2),
            Source = Text(s, 3),
            TenantId = Text(s, 4),
            Region = Text(s, 5),
            Subject = Text(s, 6),
            SubjectIsNull = IsNull(s, 6),
            OccurredAtMs = Integer(s, 7),
            RecordedAtMs = Integer(s, 8),
            Content = Text(s, 9),
            Sealed = Text(s, 10),
            SealedIsNull = IsNull(s, 10),
            RefId = Text(s, 13),
            RefIdIsNull = IsNull(s, 13),
        };
        var prevHash = Text(s, 11);
        var hash = Text(s, 12);
        var matches = _hasher.Matches(prevHash, record, hash);
        return new ChainLink(Integer(s, 0), System.Text.Encoding.UTF8.GetString(prevHash), System.Text.Encoding.UTF8.GetString(hash), matches);
    }

    public void Dispose()
    {
        _statement.Dispose();
        _hasher.Dispose();
    }

    // A text (or blob) column's bytes. A NOT NULL column that is NULL anyway (only a rewritten schema allows it) reads
    // as empty and so fails its hash, where ADO.NET's GetString threw.
    private static ReadOnlySpan<byte> Text(sqlite3_stmt statement, int column) => raw.sqlite3_column_blob(statement, column);

    private static bool IsNull(sqlite3_stmt statement, int column) => raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL;

    private static long Integer(sqlite3_stmt statement, int column) => raw.sqlite3_column_int64(statement, column);

    private void Check(int rc) => SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
}
