using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Outbox;

/// <summary>
/// The group-commit writer: the only user of the writer connection. It takes inserts, drain deletes (and moves to the
/// dead-letter table) and flushes from a bounded hand-off and commits everything pending in one transaction, waiting up to <see cref="OutboxOptions.CommitWindowMs"/>
/// after a batch's first fire-and-forget event for more (at most <see cref="OutboxOptions.CommitMaxEvents"/>). A durable
/// insert, a drain delete or a flush ends the wait at once. One transaction per batch is what makes an event cheap: a WAL commit (page
/// writes, a lock round) costs tens of microseconds whether it holds one event or hundreds.
/// </summary>
public sealed partial class DurableOutbox
{
    private readonly Channel<WriteOp> _handoff;
    private readonly Thread _writerThread;

    // Set when the writer must commit without waiting out the window. No spinning: on a small machine a spinning writer
    // takes the CPU the requests need.
    private readonly ManualResetEventSlim _commitNow = new(false, spinCount: 1);
    private readonly Counter<long> _commits;
    private long _commitCount;

    // Topics of the rows the current transaction moved to the dead-letter table, counted once it committed.
    private readonly List<string> _movedTopics = [];

    /// <summary>Transactions the writer committed since the file was opened (each holds one or more events or deletes).</summary>
    public long Commits => Interlocked.Read(ref _commitCount);

    /// <summary>Events (and drain deletes) in the hand-off, not yet taken by the writer.</summary>
    public int Pending => _handoff.Reader.Count;

    // A thread of its own rather than a pool thread: each commit blocks in SQLite (page writes, sometimes a wait for the
    // file lock), and a pool thread blocked there is one fewer for requests on a small machine.
    private void WriteLoop()
    {
        var batch = new List<WriteOp>(Math.Min(_options.CommitMaxEvents, 1_024));
        var reader = _handoff.Reader;
        var window = TimeSpan.FromMilliseconds(_options.CommitWindowMs);
        while (WaitToRead(reader))
        {
            // The first op opened a window: sleep through it rather than wake for every event that joins (a wake per event
            // cost more CPU than the event), unless something must not wait: a durable insert, a delete, a flush, a full
            // batch, or closing (all of which set _commitNow).
            if (window > TimeSpan.Zero && !_commitNow.IsSet && reader.Count < _options.CommitMaxEvents)
            {
                _commitNow.Wait(window);
            }

            // Reset before taking: a signal for an op this batch misses stays set, and the next batch commits at once.
            _commitNow.Reset();
            while (batch.Count < _options.CommitMaxEvents && reader.TryRead(out var op))
            {
                batch.Add(op);
            }

            Commit(batch);
            batch.Clear();
        }
    }

    // Blocks until an op is readable (true) or the hand-off is closed and empty (false).
    private static bool WaitToRead(ChannelReader<WriteOp> reader)
    {
        var wait = reader.WaitToReadAsync();
        return wait.IsCompleted ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    private void Commit(List<WriteOp> batch)
    {
        int inserted = 0, deleted = 0, dead = 0;
        _movedTopics.Clear();
        try
        {
            using var transaction = _writer.BeginTransaction();
            _insert.Transaction = _delete.Transaction = _deleteRange.Transaction = _deadLetter.Transaction = transaction;
            foreach (var op in batch)
            {
                switch (op.Kind)
                {
                    case WriteKind.Insert:
                        // A number of a rolled-back insert is not handed out again: a gap is harmless, a reuse is not.
                        _insert.Parameters[0].Value = _nextSeq++;
                        _insert.Parameters[1].Value = op.Topic;
                        _insert.Parameters[2].Value = op.Id;
                        _insert.Parameters[3].Value = op.EnqueuedMs;
                        _insert.Parameters[4].Value = op.Body;
                        _insert.ExecuteNonQuery();
                        inserted++;
                        break;
                    case WriteKind.Delete:
                        deleted += ExecuteDelete(op);
                        break;
                    case WriteKind.DeadLetter:
                        var moved = ExecuteDeadLetter(op);
                        deleted += moved;
                        dead += moved;
                        break;
                }
            }

            transaction.Commit();
        }
        catch (Exception e) when (e is SqliteException or IOException or InvalidOperationException)
        {
            // The transaction rolled back: every insert in it is lost (counted, logged), every delete is retried by the drain.
            Fail(batch, e);
            return;
        }
        finally
        {
            _insert.Transaction = _delete.Transaction = _deleteRange.Transaction = _deadLetter.Transaction = null;
        }

        Interlocked.Increment(ref _commitCount);
        _commits.Add(1);
        Interlocked.Add(ref _rows, -deleted);
        if (dead > 0)
        {
            Interlocked.Add(ref _deadRows, dead);
            foreach (var topic in _movedTopics)
            {
                _deadLettered.Add(1, new KeyValuePair<string, object?>("topic", topic));
            }
        }

        foreach (var op in batch)
        {
            op.Done?.TrySetResult(true);
        }

        if (inserted > 0)
        {
            _onEnqueued?.Invoke();
        }
    }

    private int ExecuteDelete(WriteOp op)
    {
        var messages = op.Messages!;
        if (op.WholeBatch)
        {
            _deleteRange.Parameters[0].Value = messages[0].Seq;
            _deleteRange.Parameters[1].Value = messages[^1].Seq;
            return _deleteRange.ExecuteNonQuery();
        }

        var deleted = 0;
        foreach (var message in messages)
        {
            _delete.Parameters[0].Value = message.Seq;
            deleted += _delete.ExecuteNonQuery();
        }

        return deleted;
    }

    // Copy, then delete: a row already gone (published meanwhile) is neither copied nor counted.
    private int ExecuteDeadLetter(WriteOp op)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var moved = 0;
        foreach (var letter in op.DeadLetters!)
        {
            _deadLetter.Parameters[0].Value = letter.Refusals;
            _deadLetter.Parameters[1].Value = letter.FirstFailedUnixMs;
            _deadLetter.Parameters[2].Value = now;
            _deadLetter.Parameters[3].Value = letter.Error;
            _deadLetter.Parameters[4].Value = letter.Message.Seq;
            if (_deadLetter.ExecuteNonQuery() > 0)
            {
                _delete.Parameters[0].Value = letter.Message.Seq;
                moved += _delete.ExecuteNonQuery();
                _movedTopics.Add(letter.Message.Topic);
            }
        }

        return moved;
    }

    private void Fail(List<WriteOp> batch, Exception e)
    {
        var lost = batch.Where(o => o.Kind == WriteKind.Insert).ToList();
        if (lost.Count > 0)
        {
            Interlocked.Add(ref _rows, -lost.Count);
            _refused.Add(lost.Count, new KeyValuePair<string, object?>("reason", "write_failed"));
            LogWriteFailed(_logger, lost.Count, lost[0].Topic!, Path, e.GetType().Name, e.Message);
        }

        foreach (var op in batch)
        {
            if (op.Kind is WriteKind.Delete or WriteKind.DeadLetter)
            {
                op.Done!.TrySetException(e);
            }
            else
            {
                op.Done?.TrySetResult(false);
            }
        }
    }

    private enum WriteKind
    {
        Insert,
        Delete,
        DeadLetter,
        Flush,
    }

    /// <summary>One unit of work for the writer. Done (when set) completes after the transaction holding it.</summary>
    private sealed class WriteOp
    {
        public WriteKind Kind { get; private init; }

        public string? Topic { get; private init; }

        public string? Id { get; private init; }

        public long EnqueuedMs { get; private init; }

        public byte[]? Body { get; private init; }

        public IReadOnlyList<OutboxMessage>? Messages { get; private init; }

        public bool WholeBatch { get; private init; }

        public IReadOnlyList<DeadLetter>? DeadLetters { get; private init; }

        public TaskCompletionSource<bool>? Done { get; private init; }

        public static WriteOp Insert(string topic, string id, long enqueuedMs, byte[] body, bool durable) => new()
        {
            Kind = WriteKind.Insert,
            Topic = topic,
            Id = id,
            EnqueuedMs = enqueuedMs,
            Body = body,
            Done = durable ? NewDone() : null,
        };

        // A delete commits at once too (DeleteAsync signals): the drain awaits it (a stop would otherwise wait out the
        // window), and it takes the pending inserts along, at most one extra commit per published batch.
        public static WriteOp Delete(IReadOnlyList<OutboxMessage> messages, bool wholeBatch) =>
            new() { Kind = WriteKind.Delete, Messages = messages, WholeBatch = wholeBatch, Done = NewDone() };

        public static WriteOp MoveToDeadLetters(IReadOnlyList<DeadLetter> letters) =>
            new() { Kind = WriteKind.DeadLetter, DeadLetters = letters, Done = NewDone() };

        public static WriteOp Flush() => new() { Kind = WriteKind.Flush, Done = NewDone() };

        // Continuations run on the pool, not on the writer: a caller's code never holds up the next commit.
        private static TaskCompletionSource<bool> NewDone() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
