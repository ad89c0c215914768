using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace DaprLlm.Outbox;

/// <summary>
/// An append-only queue of CloudEvents in a local SQLite file (WAL), published by <see cref="OutboxDrain"/>, now or
/// after the next start. Callers never touch SQLite: <see cref="Enqueue"/> and <see cref="EnqueueDurableAsync"/> serialize
/// the CloudEvent (its id fixed here) and hand it to one writer that commits everything pending in one transaction
/// (group commit, DurableOutbox.GroupCommit.cs); the drain's deletes go through the same writer, so nothing waits on a
/// lock shared with the request path. One file per replica, held with an exclusive lock so two processes never drain
/// the same rows.
/// </summary>
/// <remarks>
/// Crash window: a fire-and-forget <see cref="Enqueue"/> returns before its transaction commits, at most
/// <see cref="OutboxOptions.CommitWindowMs"/> (plus the commit itself) later; events accepted in that window before a
/// kill -9 (or a power loss) can be lost. <see cref="EnqueueDurableAsync"/> completes only after its commit, and a
/// graceful stop (Dispose, SIGTERM through the host) commits everything accepted before it.
/// </remarks>
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
    private readonly SqliteCommand _readSeqs;
    private readonly SqliteCommand _deadLetter;

    // The drain's reads (and the age gauge) use the reader connection, which WAL lets read while the writer commits.
    private readonly Lock _readLock = new();
    private readonly Meter _meter;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _keptOverCap;
    private readonly Counter<long> _deadLettered;

    // Events accepted and not yet deleted: committed rows plus those still in the hand-off or the writer's batch.
    private long _rows;
    private long _deadRows;

    // The next sequence number; only the writer thread uses it. Never lower than one already handed out in this process.
    private long _nextSeq;
    private long _lastFullLog = long.MinValue;
    private long _lastHandoffLog = long.MinValue;
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
        // crosses the threshold, stalling the writer. The drain checkpoints instead (Checkpoint), on the reader connection.
        Execute(_writer, "PRAGMA wal_autocheckpoint=0");
        Execute(_writer, "PRAGMA journal_size_limit=67108864");
        // A plain rowid key (no AUTOINCREMENT, which writes the sqlite_sequence page in every commit), but the writer assigns
        // it (_nextSeq) rather than SQLite: SQLite would reuse max(seq) + 1 once the highest rows are deleted, and the drain,
        // whose batches finish out of order, deletes them while older ones are still in flight; a new event would then sort
        // below the drain's cursor and be skipped. Files from before keep their schema.
        Execute(_writer, """
            CREATE TABLE IF NOT EXISTS outbox (
                seq INTEGER PRIMARY KEY,
                topic TEXT NOT NULL,
                id TEXT NOT NULL,
                enqueued_ms INTEGER NOT NULL,
                body BLOB NOT NULL)
            """);
        // Events the broker kept refusing (OutboxDrain): moved here rather than retried forever or deleted, for an operator
        // to inspect and re-queue. Its seq is the row's number in the outbox when it moved, for the record only.
        Execute(_writer, """
            CREATE TABLE IF NOT EXISTS outbox_dead (
                seq INTEGER NOT NULL,
                topic TEXT NOT NULL,
                id TEXT NOT NULL,
                enqueued_ms INTEGER NOT NULL,
                body BLOB NOT NULL,
                refusals INTEGER NOT NULL,
                first_failed_ms INTEGER NOT NULL,
                dead_ms INTEGER NOT NULL,
                error TEXT NOT NULL)
            """);
        _reader = new SqliteConnection(connectionString);
        _reader.Open();
        Execute(_reader, "PRAGMA busy_timeout=5000");
        // The reader connection runs the checkpoints. With Normal durability they skip their fsyncs too: an fsync on a busy
        // disk stalls the writer's WAL writes behind the filesystem journal for tens of milliseconds (measured in the
        // gateway bench), and a process crash loses nothing without it (the OS holds the pages); a power loss may then
        // lose or damage the outbox, which is what Durability=Full is for.
        Execute(_reader, $"PRAGMA synchronous={(options.Durability == OutboxDurability.Full ? "FULL" : "OFF")}");

        _insert = Prepare(_writer, "INSERT INTO outbox (seq, topic, id, enqueued_ms, body) VALUES ($seq, $topic, $id, $ms, $body)",
            "$seq", "$topic", "$id", "$ms", "$body");
        _delete = Prepare(_writer, "DELETE FROM outbox WHERE seq = $seq", "$seq");
        _deleteRange = Prepare(_writer, "DELETE FROM outbox WHERE seq BETWEEN $from AND $to", "$from", "$to");
        _readBatch = Prepare(_reader, "SELECT seq, topic, id, enqueued_ms, body FROM outbox WHERE seq > $after ORDER BY seq LIMIT $limit", "$after", "$limit");
        _oldest = Prepare(_reader, "SELECT enqueued_ms FROM outbox ORDER BY seq LIMIT 1");
        _readSeqs = Prepare(_reader, "SELECT seq, topic, id, enqueued_ms, body FROM outbox WHERE seq IN (SELECT value FROM json_each($seqs)) ORDER BY seq", "$seqs");
        _deadLetter = Prepare(_writer, """
            INSERT INTO outbox_dead (seq, topic, id, enqueued_ms, body, refusals, first_failed_ms, dead_ms, error)
            SELECT seq, topic, id, enqueued_ms, body, $refusals, $first, $dead, $error FROM outbox WHERE seq = $seq
            """, "$refusals", "$first", "$dead", "$error", "$seq");
        using (var count = _reader.CreateCommand())
        {
            count.CommandText = "SELECT COUNT(*) FROM outbox";
            _rows = (long)count.ExecuteScalar()!;
            count.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM outbox";
            _nextSeq = (long)count.ExecuteScalar()! + 1;
            count.CommandText = "SELECT COUNT(*) FROM outbox_dead";
            _deadRows = (long)count.ExecuteScalar()!;
        }

        _meter = new Meter("DaprLlm.Outbox");
        var tags = new KeyValuePair<string, object?>("outbox", source);
        _meter.CreateObservableGauge("daprllm.outbox.backlog", () => new Measurement<long>(Count, tags), "{event}", "Events stored and not yet accepted by the sidecar");
        _meter.CreateObservableGauge("daprllm.outbox.oldest_age", () => new Measurement<double>(OldestAge().TotalSeconds, tags), "s", "Age of the oldest event not yet published");
        _refused = _meter.CreateCounter<long>("daprllm.outbox.refused", "{event}", "Events refused: outbox full (WhenFull=Reject), hand-off to the writer full, or not writable");
        _keptOverCap = _meter.CreateCounter<long>("daprllm.outbox.over_cap", "{event}", "Events stored beyond MaxRows (WhenFull=Keep)");
        _commits = _meter.CreateCounter<long>("daprllm.outbox.commits", "{transaction}", "Group-commit transactions of the writer");
        Published = _meter.CreateCounter<long>("daprllm.outbox.published", "{event}", "Events the sidecar accepted");
        PublishFailures = _meter.CreateCounter<long>("daprllm.outbox.publish_failures", "{event}", "Events a publish attempt failed for (retried)");
        _deadLettered = _meter.CreateCounter<long>("daprllm.outbox.dead_lettered", "{event}", "Events moved to the dead-letter table after repeated refusals");
        _meter.CreateObservableGauge("daprllm.outbox.dead_letters", () => new Measurement<long>(DeadLetterCount, tags), "{event}", "Events in the dead-letter table");
        if (_rows > 0)
        {
            LogReopened(_logger, Path, _rows);
        }

        if (_deadRows > 0)
        {
            LogDeadLettersKept(_logger, Path, _deadRows);
        }

        _handoff = Channel.CreateBounded<WriteOp>(new BoundedChannelOptions(options.HandoffCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writerThread = new Thread(WriteLoop) { IsBackground = true, Name = "outbox writer" };
        _writerThread.Start();
    }

    /// <summary>Full path of the SQLite file.</summary>
    public string Path { get; }

    /// <summary>Events accepted and not yet accepted by the sidecar (stored, or about to be committed by the writer).</summary>
    public long Count => Interlocked.Read(ref _rows);

    /// <summary>Events in the dead-letter table (outbox_dead): refused too often by the broker, kept for an operator.</summary>
    public long DeadLetterCount => Interlocked.Read(ref _deadRows);

    internal Counter<long> Published { get; }

    internal Counter<long> PublishFailures { get; }

    /// <summary>
    /// Fire-and-forget: accepts <paramref name="data"/> as a CloudEvent for <paramref name="topic"/> and returns its id, or
    /// null when it was refused (outbox full with <see cref="OutboxFullMode.Reject"/>, hand-off full, closed, or not
    /// serializable; counted and logged). Never touches SQLite, never waits: the writer commits it within
    /// <see cref="OutboxOptions.CommitWindowMs"/>; until then a kill -9 can lose it (see the remarks on the class).
    /// </summary>
    public string? Enqueue(string topic, object data)
    {
        var op = Accept(topic, data, durable: false);
        if (op is null)
        {
            return null;
        }

        if (_handoff.Writer.TryWrite(op))
        {
            if (_handoff.Reader.Count >= _options.CommitMaxEvents)
            {
                _commitNow.Set(); // a full batch does not wait for the window
            }

            return op.Id;
        }

        RefuseAtHandoff(topic);
        return null;
    }

    /// <summary>
    /// Durable: like <see cref="Enqueue"/>, but completes only after the event's transaction committed (the writer commits
    /// at once when a durable event is pending), so the returned id survives a kill -9. When the hand-off is full it waits
    /// up to <see cref="OutboxOptions.DurableWaitMs"/> for room. Null (counted and logged) when the event was refused or
    /// its commit failed; never throws.
    /// </summary>
    public async Task<string?> EnqueueDurableAsync(string topic, object data)
    {
        var op = Accept(topic, data, durable: true);
        if (op is null)
        {
            return null;
        }

        if (!_handoff.Writer.TryWrite(op))
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(_options.DurableWaitMs));
            try
            {
                await _handoff.Writer.WriteAsync(op, wait.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
                RefuseAtHandoff(topic);
                return null;
            }
        }

        _commitNow.Set();
        return await op.Done!.Task ? op.Id : null;
    }

    /// <summary>Completes once everything accepted before the call is committed (or failed); at once after Dispose.</summary>
    public Task FlushAsync()
    {
        var op = WriteOp.Flush();
        if (!_handoff.Writer.TryWrite(op))
        {
            return FlushSlowAsync(op);
        }

        _commitNow.Set();
        return op.Done!.Task;
    }

    private async Task FlushSlowAsync(WriteOp op)
    {
        try
        {
            await _handoff.Writer.WriteAsync(op);
            _commitNow.Set();
            await op.Done!.Task;
        }
        catch (ChannelClosedException)
        {
            // Disposed: Dispose already committed what was accepted.
        }
    }

    // Serializes the event and reserves its row against MaxRows; null when refused (counted and logged).
    private WriteOp? Accept(string topic, object data, bool durable)
    {
        var now = _time.GetUtcNow();
        // Version 7: ids sort by time, which keeps them readable in a trail; uniqueness is what the subscriber needs.
        var id = Guid.CreateVersion7(now).ToString();
        byte[] body;
        try
        {
            body = CloudEventWriter.Write(id, _source, topic, now, data);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or System.Text.Json.JsonException)
        {
            _refused.Add(1, new KeyValuePair<string, object?>("reason", "write_failed"));
            LogWriteFailed(_logger, 1, topic, Path, e.GetType().Name, e.Message);
            return null;
        }

        var rows = Interlocked.Increment(ref _rows);
        if (rows > _options.MaxRows && !OverCap(topic, rows - 1))
        {
            Interlocked.Decrement(ref _rows);
            return null;
        }

        return WriteOp.Insert(topic, id, now.ToUnixTimeMilliseconds(), body, durable);
    }

    private void RefuseAtHandoff(string topic)
    {
        Interlocked.Decrement(ref _rows);
        _refused.Add(1, new KeyValuePair<string, object?>("reason", "handoff_full"));
        var now = Environment.TickCount64;
        if (now - Interlocked.Read(ref _lastHandoffLog) >= 10_000)
        {
            Interlocked.Exchange(ref _lastHandoffLog, now);
            LogHandoffFull(_logger, Path, _options.HandoffCapacity, topic);
        }
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

    /// <summary>The stored events among <paramref name="seqs"/> (those still in the outbox), oldest first.</summary>
    public List<OutboxMessage> Read(IReadOnlyCollection<long> seqs)
    {
        var messages = new List<OutboxMessage>(seqs.Count);
        if (seqs.Count == 0)
        {
            return messages;
        }

        lock (_readLock)
        {
            _readSeqs.Parameters[0].Value = "[" + string.Join(',', seqs) + "]";
            using var reader = _readSeqs.ExecuteReader();
            while (reader.Read())
            {
                messages.Add(new OutboxMessage(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), (byte[])reader.GetValue(4)));
            }
        }

        return messages;
    }

    /// <summary>
    /// Moves events out of the outbox into the dead-letter table (outbox_dead) in one transaction, through the writer, and
    /// completes once they moved. Throws when the transaction failed (they stay in the outbox).
    /// </summary>
    public async Task DeadLetterAsync(IReadOnlyList<DeadLetter> letters)
    {
        if (letters.Count == 0)
        {
            return;
        }

        var op = WriteOp.MoveToDeadLetters(letters);
        await _handoff.Writer.WriteAsync(op);
        _commitNow.Set();
        await op.Done!.Task;
    }

    /// <summary>
    /// Removes events the sidecar accepted, through the writer (committed at once, with any pending inserts), and
    /// completes once they are gone. A whole batch (<paramref name="wholeBatch"/>: every row the drain read in one go, which are all the rows
    /// between its first and last sequence) goes as one range delete. Throws when the transaction failed.
    /// </summary>
    public async Task DeleteAsync(IReadOnlyList<OutboxMessage> messages, bool wholeBatch = false)
    {
        if (messages.Count == 0)
        {
            return;
        }

        // Never refused for a full hand-off: deletes are what frees the outbox; they wait for room instead.
        var op = WriteOp.Delete(messages, wholeBatch);
        await _handoff.Writer.WriteAsync(op);
        _commitNow.Set();
        await op.Done!.Task;
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

    // The cap protects the disk of an app whose sidecar or broker is down for a long time; which way
    // it errs is the app's choice (WhenFull): the gateway refuses (a bounded disk, the loss is logged and counted), the
    // safety app keeps its moderation decisions (records that must never be lost) and only raises the alarm.
    private bool OverCap(string topic, long rows)
    {
        var keep = _options.WhenFull == OutboxFullMode.Keep;
        (keep ? _keptOverCap : _refused).Add(1, new KeyValuePair<string, object?>("reason", "full"));
        var now = Environment.TickCount64;
        if (now - _lastFullLog >= 10_000)
        {
            _lastFullLog = now;
            LogFull(_logger, Path, rows, _options.MaxRows, topic, keep ? "stored anyway (WhenFull=Keep)" : "refused (WhenFull=Reject)");
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

    /// <summary>Commits everything accepted so far (a graceful stop loses nothing), then closes the file.</summary>
    public void Dispose()
    {
        if (!_handoff.Writer.TryComplete())
        {
            return;
        }

        _commitNow.Set();
        _writerThread.Join();
        // _commitNow stays undisposed: a durable enqueue racing this Dispose may still signal it.
        _insert.Dispose();
        _delete.Dispose();
        _deleteRange.Dispose();
        _readBatch.Dispose();
        _oldest.Dispose();
        _readSeqs.Dispose();
        _deadLetter.Dispose();
        _writer.Dispose();
        _reader.Dispose();
        _lock.Dispose();
        _meter.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox {Path} reopened with {Rows} unpublished events; draining them")]
    private static partial void LogReopened(ILogger logger, string path, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox {Path} holds {Rows} dead-lettered events (table outbox_dead), refused by the broker too often; they are not published until re-queued")]
    private static partial void LogDeadLettersKept(ILogger logger, string path, long rows);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox {Path} is full ({Rows} of {MaxRows} rows: the sidecar or broker has not accepted events for a while); a {Topic} event was {Outcome}")]
    private static partial void LogFull(ILogger logger, string path, long rows, long maxRows, string topic, string outcome);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} events ({Topic} first) could not be written to the outbox {Path} and are lost: {Error} {Message}")]
    private static partial void LogWriteFailed(ILogger logger, int count, string topic, string path, string error, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "The hand-off to the writer of outbox {Path} is full ({Capacity} events: the disk is not keeping up); a {Topic} event was refused")]
    private static partial void LogHandoffFull(ILogger logger, string path, int capacity, string topic);
}
