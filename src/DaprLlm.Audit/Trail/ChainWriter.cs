using System.Threading.Channels;

namespace DaprLlm.Audit.Trail;

/// <summary>How an append ended for one entry.</summary>
public enum AppendOutcome
{
    Stored,
    Duplicate,
}

/// <summary>
/// The single writer of one region's chain. Appends queue on a channel; a loop takes up to <c>maxBatch</c> of them,
/// chains them after the head it keeps in memory, skips event ids already stored, and commits them (with a signed
/// checkpoint every <c>checkpointEvery</c> records) in one transaction. Each caller's task completes only after
/// that commit, so an HTTP delivery can acknowledge exactly when its record is durable.
/// </summary>
public sealed class ChainWriter : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(100_000) { SingleReader = true });
    private readonly IAuditStore _store;
    private readonly CheckpointSigner _signer;
    private readonly TimeProvider _time;
    private readonly int _maxBatch;
    private readonly int _checkpointEvery;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _exclusive = new(1, 1);
    private Task? _loop;
    private ChainHead _head;
    private long _lastCheckpointSeq;

    public ChainWriter(IAuditStore store, CheckpointSigner signer, TimeProvider time, int maxBatch = 512, int checkpointEvery = 1000)
    {
        _store = store;
        _signer = signer;
        _time = time;
        _maxBatch = maxBatch;
        _checkpointEvery = checkpointEvery;
    }

    public IAuditStore Store => _store;

    public ChainHead Head => _head;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _store.InitializeAsync(cancellationToken);
        await ReloadAsync(cancellationToken);
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Queues an entry and completes once it is committed (or was already stored).</summary>
    public async Task<AppendOutcome> AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        var pending = new Pending(entry, new TaskCompletionSource<AppendOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        await _queue.Writer.WriteAsync(pending, cancellationToken);
        return await pending.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Runs work while no batch is being written, so the head it sees is the committed one.</summary>
    public async Task<T> ExclusiveAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        await _exclusive.WaitAsync(cancellationToken);
        try
        {
            return await work(cancellationToken);
        }
        finally
        {
            _exclusive.Release();
        }
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        _head = await _store.ReadHeadAsync(cancellationToken);
        var checkpoints = await _store.ReadCheckpointsAsync(cancellationToken);
        _lastCheckpointSeq = checkpoints.Count == 0 ? 0 : checkpoints[^1].Seq;
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var batch = new List<Pending>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            await _exclusive.WaitAsync(stopping);
            try
            {
                await WriteBatchAsync(batch, stopping);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                if (batch.Count > 1 && await ReloadAfterFailureAsync(stopping))
                {
                    // The database answers, so an entry it refuses (a value it cannot hold) must not keep the rest of
                    // its batch out for good: each is retried alone, and only the ones that fail again are refused.
                    await WriteOneByOneAsync(batch, stopping);
                }
                else
                {
                    FailAll(batch, e);
                    if (batch.Count == 1)
                    {
                        await ReloadAfterFailureAsync(stopping);
                    }
                }
            }
            finally
            {
                _exclusive.Release();
            }
        }
    }

    private async Task WriteOneByOneAsync(List<Pending> batch, CancellationToken stopping)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                await WriteBatchAsync([batch[i]], stopping);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                batch[i].Done.TrySetException(e);
                if (!await ReloadAfterFailureAsync(stopping))
                {
                    // The database went away meanwhile: the rest wait for redelivery instead of one timeout each.
                    FailAll(batch[(i + 1)..], e);
                    return;
                }
            }
        }
    }

    private static void FailAll(List<Pending> items, Exception e)
    {
        foreach (var item in items)
        {
            item.Done.TrySetException(e);
        }
    }

    /// <summary>Reads the committed head again after a rollback; false when the database does not answer.</summary>
    private async Task<bool> ReloadAfterFailureAsync(CancellationToken stopping)
    {
        // The transaction rolled back; the database is the truth for where the chain ends.
        try
        {
            await ReloadAsync(stopping);
            return true;
        }
        catch (Exception reload) when (reload is not OperationCanceledException)
        {
            // Keep the old head; the next batch fails the same way until the database is back.
            return false;
        }
    }

    private async Task WriteBatchAsync(List<Pending> batch, CancellationToken cancellationToken)
    {
        var existing = await _store.FindExistingAsync(batch.Select(p => p.Entry.EventId).ToHashSet(StringComparer.Ordinal), cancellationToken);
        var fresh = new List<Pending>(batch.Count);
        var duplicates = new List<Pending>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in batch)
        {
            if (existing.Contains(item.Entry.EventId) || !seen.Add(item.Entry.EventId))
            {
                duplicates.Add(item);
            }
            else
            {
                fresh.Add(item);
            }
        }

        var region = new KeyValuePair<string, object?>("region", _store.Region);
        if (fresh.Count > 0)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var records = ChainHash.Chain(_head, fresh.Select(p => p.Entry).ToList(), now, out var newHead);
            var checkpoint = newHead.Seq - _lastCheckpointSeq >= _checkpointEvery ? _signer.Sign(_store.Region, newHead, now) : null;
            await _store.AppendAsync(records, checkpoint, cancellationToken);
            _head = newHead;
            if (checkpoint is not null)
            {
                _lastCheckpointSeq = checkpoint.Seq;
            }

            // Telemetry is taken here, where the commit happens: events/s from the counter, lag from the event's time.
            AuditMetrics.Stored.Add(fresh.Count, region);
            foreach (var item in fresh)
            {
                if (item.Entry.OccurredAtMs > 0)
                {
                    AuditMetrics.IngestLag.Record(now - item.Entry.OccurredAtMs, region);
                }
            }
        }

        if (duplicates.Count > 0)
        {
            AuditMetrics.Duplicates.Add(duplicates.Count, region);
        }

        foreach (var item in fresh)
        {
            item.Done.TrySetResult(AppendOutcome.Stored);
        }

        foreach (var item in duplicates)
        {
            item.Done.TrySetResult(AppendOutcome.Duplicate);
        }
    }

    /// <summary>Signs the current head now (on shutdown and on demand), so the whole chain is pinned.</summary>
    public Task<Checkpoint?> CheckpointNowAsync(CancellationToken cancellationToken) => ExclusiveAsync<Checkpoint?>(async ct =>
    {
        if (_head.Seq == 0 || _head.Seq == _lastCheckpointSeq)
        {
            return null;
        }

        var checkpoint = _signer.Sign(_store.Region, _head, _time.GetUtcNow().ToUnixTimeMilliseconds());
        await _store.AppendAsync([], checkpoint, ct);
        _lastCheckpointSeq = checkpoint.Seq;
        return checkpoint;
    }, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_loop is not null)
        {
            try
            {
                await _loop.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                await _stopping.CancelAsync();
            }
            catch (OperationCanceledException)
            {
            }
        }

        while (_queue.Reader.TryRead(out var left))
        {
            left.Done.TrySetCanceled();
        }

        _stopping.Dispose();
        _exclusive.Dispose();
    }

    private sealed record Pending(AuditEntry Entry, TaskCompletionSource<AppendOutcome> Done);
}
