using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace DaprLlm.Outbox;

/// <summary>
/// An append-only queue of CloudEvents in a local SQLite file (WAL). <see cref="Enqueue"/> is one prepared insert on
/// the caller's thread (no fsync with the default durability; 28–37 µs in bench/DaprLlm.Bench.Outbox); once it returns, the event survives
/// a crash of the process and is published by <see cref="OutboxDrain"/>, now or after the next start. One file per
/// replica, held with an exclusive lock so two processes never drain the same rows.
/// </summary>
public sealed partial class DurableOutbox : IDisposable
{
    private readonly string _source;
    private readonly OutboxOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FileStream _lock;
    private readonly SqliteConnection _writer;
    private readonly SqliteConnection _reader;
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _delete;
    private readonly SqliteCommand _deleteRange;
    private readonly SqliteCommand _readBatch;
    private readonly SqliteCommand _oldest;

    // Inserts and deletes share the writer connection; the drain's reads (and the age gauge) use the reader connection,
    // which WAL lets read while a write is going on.
    private readonly Lock _writeLock = new();
    private readonly Lock _readLock = new();
    private readonly Meter _meter;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _keptOverCap;
    private long _rows;
    private long _lastFullLog = long.MinValue;
    private Action? _onEnqueued;

    /// <summary>Opens (or creates) the outbox at <paramref name="path"/>; events get <paramref name="source"/> (the app id) as CloudEvent source.</summary>
    public DurableOutbox(string path, string source, OutboxOptions options, TimeProvider time, ILogger<DurableOutbox> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        Path = System.IO.Path.GetFullPath(path);
        _source = source;
        _options = options;
        _time = time;
        _logger = logger;
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        try
        {
            _lock = new FileStream(Path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(
                $"The outbox file {Path} is in use by another process: give each replica its own Outbox:Instance or Outbox:Directory", e);
        }

        var connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString();
        _writer = new SqliteConnection(connectionString);
        _writer.Open();
        Execute(_writer, "PRAGMA journal_mode=WAL");
        Execute(_writer, $"PRAGMA synchronous={(options.Durability == OutboxDurability.Full ? "FULL" : "NORMAL")}");
        Execute(_writer, "PRAGMA busy_timeout=5000");
        // No automatic checkpoints: SQLite would run them (copy the WAL into the file, with fsyncs) inside whichever commit
        // crosses the threshold, which is a request's enqueue. The drain checkpoints instead (Checkpoint), off the request path.
        Execute(_writer, "PRAGMA wal_autocheckpoint=0");
        Execute(_writer, "PRAGMA journal_size_limit=67108864");
        // A plain rowid key (no AUTOINCREMENT, which writes the sqlite_sequence page in every commit): a sequence number
        // can be reused once the table was emptied, so the drain starts from the first row again whenever it has
        // nothing in flight.
        Execute(_writer, """
            CREATE TABLE IF NOT EXISTS outbox (
                seq INTEGER PRIMARY KEY,
                topic TEXT NOT NULL,
                id TEXT NOT NULL,
                enqueued_ms INTEGER NOT NULL,
                body BLOB NOT NULL)
            """);
        _reader = new SqliteConnection(connectionString);
        _reader.Open();
        Execute(_reader, "PRAGMA busy_timeout=5000");
        // The reader connection runs the checkpoints. With Normal durability they skip their fsyncs too: an fsync on a busy
        // disk stalls the enqueues' WAL writes behind the filesystem journal for tens of milliseconds (measured in the
        // gateway bench), and a process crash loses nothing without it (the OS holds the pages); a power loss may then
        // lose or damage the outbox, which is what Durability=Full is for.
        Execute(_reader, $"PRAGMA synchronous={(options.Durability == OutboxDurability.Full ? "FULL" : "OFF")}");

        _insert = Prepare(_writer, "INSERT INTO outbox (topic, id, enqueued_ms, body) VALUES ($topic, $id, $ms, $body)", "$topic", "$id", "$ms", "$body");
        _delete = Prepare(_writer, "DELETE FROM outbox WHERE seq = $seq", "$seq");
        _deleteRange = Prepare(_writer, "DELETE FROM outbox WHERE seq BETWEEN $from AND $to", "$from", "$to");
        _readBatch = Prepare(_reader, "SELECT seq, topic, id, enqueued_ms, body FROM outbox WHERE seq > $after ORDER BY seq LIMIT $limit", "$after", "$limit");
        _oldest = Prepare(_reader, "SELECT enqueued_ms FROM outbox ORDER BY seq LIMIT 1");
        using (var count = _reader.CreateCommand())
        {
            count.CommandText = "SELECT COUNT(*) FROM outbox";
            _rows = (long)count.ExecuteScalar()!;
        }

        _meter = new Meter("DaprLlm.Outbox");
        var tags = new KeyValuePair<string, object?>("outbox", source);
        _meter.CreateObservableGauge("daprllm.outbox.backlog", () => new Measurement<long>(Count, tags), "{event}", "Events stored and not yet accepted by the sidecar");
        _meter.CreateObservableGauge("daprllm.outbox.oldest_age", () => new Measurement<double>(OldestAge().TotalSeconds, tags), "s", "Age of the oldest event not yet published");
        _refused = _meter.CreateCounter<long>("daprllm.outbox.refused", "{event}", "Events refused because the outbox was full (WhenFull=Reject) or could not be written");
        _keptOverCap = _meter.CreateCounter<long>("daprllm.outbox.over_cap", "{event}", "Events stored beyond MaxRows (WhenFull=Keep)");
        Published = _meter.CreateCounter<long>("daprllm.outbox.published", "{event}", "Events the sidecar accepted");
        PublishFailures = _meter.CreateCounter<long>("daprllm.outbox.publish_failures", "{event}", "Events a publish attempt failed for (retried)");
        if (_rows > 0)
        {
            LogReopened(_logger, Path, _rows);
        }
    }

    /// <summary>Full path of the SQLite file.</summary>
    public string Path { get; }

    /// <summary>Events stored and not yet accepted by the sidecar.</summary>
    public long Count => Interlocked.Read(ref _rows);

    internal Counter<long> Published { get; }

    internal Counter<long> PublishFailures { get; }

    /// <summary>
    /// Stores <paramref name="data"/> as a CloudEvent for <paramref name="topic"/>; returns its CloudEvent id, or null when
    /// it was refused (outbox full with <see cref="OutboxFullMode.Reject"/>, or the file cannot be written). Never throws
    /// and never waits for the sidecar: a request is not slowed or failed by the event pipeline.
    /// </summary>
    public string? Enqueue(string topic, object data)
    {
        var now = _time.GetUtcNow();
        // Version 7: ids sort by time, which keeps them readable in a trail; uniqueness is what the subscriber needs.
        var id = Guid.CreateVersion7(now).ToString();
        try
        {
            var body = CloudEventWriter.Write(id, _source, topic, now, data);
            lock (_writeLock)
            {
                if (_rows >= _options.MaxRows && !OverCap(topic))
                {
                    return null;
                }

                _insert.Parameters[0].Value = topic;
                _insert.Parameters[1].Value = id;
                _insert.Parameters[2].Value = now.ToUnixTimeMilliseconds();
                _insert.Parameters[3].Value = body;
                _insert.ExecuteNonQuery();
                _rows++;
            }
        }
        catch (Exception e) when (e is SqliteException or IOException or InvalidOperationException or NotSupportedException or System.Text.Json.JsonException)
        {
            _refused.Add(1, new KeyValuePair<string, object?>("reason", "write_failed"));
            LogWriteFailed(_logger, topic, Path, e.GetType().Name, e.Message);
            return null;
        }

        _onEnqueued?.Invoke();
        return id;
    }

    /// <summary>Called by the drain: wakes it when an event was stored.</summary>
    internal void OnEnqueued(Action wake) => _onEnqueued = wake;

    /// <summary>The oldest stored events after sequence <paramref name="afterSeq"/>, at most <paramref name="limit"/>.</summary>
    public List<OutboxMessage> Read(long afterSeq, int limit)
    {
        var messages = new List<OutboxMessage>();
        lock (_readLock)
        {
            _readBatch.Parameters[0].Value = afterSeq;
            _readBatch.Parameters[1].Value = limit;
            using var reader = _readBatch.ExecuteReader();
            while (reader.Read())
            {
                messages.Add(new OutboxMessage(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), (byte[])reader.GetValue(4)));
            }
        }

        return messages;
    }

    /// <summary>
    /// Removes events the sidecar accepted, in one transaction. A whole batch (<paramref name="wholeBatch"/>: every row the
    /// drain read in one go, which are all the rows between its first and last sequence) goes as one range delete.
    /// </summary>
    public void Delete(IReadOnlyList<OutboxMessage> messages, bool wholeBatch = false)
    {
        if (messages.Count == 0)
        {
            return;
        }

        if (wholeBatch)
        {
            lock (_writeLock)
            {
                _deleteRange.Parameters[0].Value = messages[0].Seq;
                _deleteRange.Parameters[1].Value = messages[^1].Seq;
                _rows -= _deleteRange.ExecuteNonQuery();
            }

            return;
        }

        lock (_writeLock)
        {
            using var transaction = _writer.BeginTransaction();
            _delete.Transaction = transaction;
            var deleted = 0;
            foreach (var message in messages)
            {
                _delete.Parameters[0].Value = message.Seq;
                deleted += _delete.ExecuteNonQuery();
            }

            transaction.Commit();
            _delete.Transaction = null;
            _rows -= deleted;
        }
    }

    /// <summary>
    /// Copies the WAL into the database file (PASSIVE: never blocks an enqueue), so the WAL is reused rather than growing.
    /// Called by the drain after deletes.
    /// </summary>
    public void Checkpoint()
    {
        lock (_readLock)
        {
            using var command = _reader.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
            command.ExecuteNonQuery();
        }
    }

    /// <summary>How long the oldest stored event has waited (zero when empty).</summary>
    public TimeSpan OldestAge()
    {
        object? oldest;
        lock (_readLock)
        {
            oldest = _oldest.ExecuteScalar();
        }

        return oldest is long ms ? _time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(ms) : TimeSpan.Zero;
    }

    // Under _writeLock. The cap protects the disk of an app whose sidecar or broker is down for a long time; which way
    // it errs is the app's choice (WhenFull): the gateway refuses (a bounded disk, the loss is logged and counted), the
    // safety app keeps its moderation decisions (records that must never be lost) and only raises the alarm.
    private bool OverCap(string topic)
    {
        var keep = _options.WhenFull == OutboxFullMode.Keep;
        (keep ? _keptOverCap : _refused).Add(1, new KeyValuePair<string, object?>("reason", "full"));
        var now = Environment.TickCount64;
        if (now - _lastFullLog >= 10_000)
        {
            _lastFullLog = now;
            LogFull(_logger, Path, _rows, _options.MaxRows, topic, keep ? "stored anyway (WhenFull=Keep)" : "refused (WhenFull=Reject)");
        }

        return keep;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        command.Prepare();
        return command;
    }

    public void Dispose()
    {
        _insert.Dispose();
        _delete.Dispose();
        _deleteRange.Dispose();
        _readBatch.Dispose();
        _oldest.Dispose();
        _writer.Dispose();
        _reader.Dispose();
        _lock.Dispose();
        _meter.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox {Path} reopened with {Rows} unpublished events; draining them")]
    private static partial void LogReopened(ILogger logger, string path, long rows);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox {Path} is full ({Rows} of {MaxRows} rows: the sidecar or broker has not accepted events for a while); a {Topic} event was {Outcome}")]
    private static partial void LogFull(ILogger logger, string path, long rows, long maxRows, string topic, string outcome);

    [LoggerMessage(Level = LogLevel.Error, Message = "A {Topic} event could not be written to the outbox {Path} and is lost: {Error} {Message}")]
    private static partial void LogWriteFailed(ILogger logger, string topic, string path, string error, string message);
}
