using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DaprLlm.Outbox;

/// <summary>
/// Publishes what <see cref="DurableOutbox"/> holds, oldest first: reads a batch, sends one publish per topic in it
/// (up to <see cref="OutboxOptions.Publishers"/> batches in flight), and deletes a row only after the sidecar accepted
/// it. When nothing gets through (sidecar or broker down) the rows stay, the drain waits (doubling from
/// <see cref="OutboxOptions.MinBackoffMs"/> to <see cref="OutboxOptions.MaxBackoffMs"/>) and retries from the oldest row,
/// forever. Rows refused while others get through (a topic the sidecar refuses, an entry the broker refuses) are parked:
/// the drain goes on past them and retries each on its own backoff; after <see cref="OutboxOptions.MaxRefusals"/>
/// refusals they move to the dead-letter table. Rows left at a stop or a crash are drained at the next start.
/// </summary>
public sealed partial class OutboxDrain : IHostedService, IDisposable
{
    private readonly DurableOutbox _outbox;
    private readonly IOutboxSink _sink;
    private readonly OutboxOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<OutboxDrain> _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    // Stopping ends batch windows and backoffs (what is left stays on disk); _abandon (the host's shutdown timeout)
    // also cancels publishes in flight.
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abandon = new();
    private Task _loop = Task.CompletedTask;

    // Checkpoints (WAL into the file, with fsyncs) run here rather than inside an enqueue: every ~1,000 deleted rows, or
    // when the outbox is empty (then the next writes reuse the WAL from its start).
    private const int CheckpointEvery = 1_000;
    private long _deletedSinceCheckpoint;

    // Rows a publish left behind while others went through, by sequence number; only the loop touches them. In memory: a
    // restart retries them from scratch (their refusals are counted again).
    private readonly Dictionary<long, Parked> _parked = [];
    private readonly List<DeadLetter> _dead = [];
    // Bumped per finished publish that got anything accepted: tells whether the broker works between two refusals of a row.
    private long _acceptedEpoch;

    public OutboxDrain(DurableOutbox outbox, IOutboxSink sink, OutboxOptions options, TimeProvider time, ILogger<OutboxDrain> logger)
    {
        _outbox = outbox;
        _sink = sink;
        _options = options;
        _time = time;
        _logger = logger;
        outbox.OnEnqueued(() => _wake.Writer.TryWrite(true));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_stopping.Token, _abandon.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Events accepted but not yet committed by the outbox's writer are committed first, so the final drain sees them.
        await _outbox.FlushAsync().WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _stopping.CancelAsync();
        await using var giveUp = cancellationToken.Register(() => _abandon.Cancel());
        await _loop;
    }

    private async Task RunAsync(CancellationToken stopping, CancellationToken abandon)
    {
        var inFlight = new List<Task<BatchResult>>();
        var cursor = 0L;
        var failures = 0;
        try
        {
            while (!abandon.IsCancellationRequested)
            {
                var (unavailable, succeeded) = Reap(inFlight);
                if (succeeded && !unavailable)
                {
                    failures = 0;
                }

                await MoveToDeadLettersAsync();
                if (unavailable)
                {
                    // Nothing got through: let the other batches finish, wait, and start again from the oldest row.
                    await ((Task)Task.WhenAll(inFlight)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    Reap(inFlight);
                    await MoveToDeadLettersAsync();
                    if (stopping.IsCancellationRequested)
                    {
                        break; // the rows stay on disk for the next start
                    }

                    failures++;
                    await Task.Delay(Backoff(failures), _time, stopping);
                    cursor = 0;
                    continue;
                }

                if (inFlight.Count >= _options.Publishers)
                {
                    await Task.WhenAny(inFlight);
                    continue;
                }

                if (DueRetries() is { Count: > 0 } due)
                {
                    if (Retry(due) is { Count: > 0 } parked)
                    {
                        inFlight.Add(PublishAsync(parked, retry: true, contiguous: false, abandon));
                    }

                    continue;
                }

                // Sequence numbers only grow while the outbox is open, so every row not yet read is above the cursor.
                var read = _outbox.Read(cursor, _options.MaxBatch);
                if (read.Count == 0)
                {
                    if (stopping.IsCancellationRequested)
                    {
                        break; // drained (what fails from here on stays on disk)
                    }

                    try
                    {
                        await WaitForWorkAsync(inFlight, stopping);
                    }
                    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                    {
                        // Stopped while idle: read once more (the stop's flush may just have committed rows), publish
                        // what is there, and end when nothing is left.
                    }

                    continue;
                }

                cursor = read[^1].Seq;
                // Refused rows wait for their own retry (after a restart from the oldest row too), not in the next batch.
                var batch = _parked.Count == 0 ? read : read.FindAll(m => !_parked.ContainsKey(m.Seq));
                if (batch.Count > 0)
                {
                    inFlight.Add(PublishAsync(batch, retry: false, contiguous: batch.Count == read.Count, abandon));
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopped during a wait: what is not yet published stays on disk for the next start.
        }

        await ((Task)Task.WhenAll(inFlight)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private TimeSpan Backoff(int failures) =>
        TimeSpan.FromMilliseconds(Math.Min(_options.MaxBackoffMs, _options.MinBackoffMs * Math.Pow(2, Math.Min(failures - 1, 20))));

    /// <summary>
    /// Removes finished publishes and parks the rows they left behind: whether one found the sidecar or broker unavailable
    /// (nothing accepted, nothing refused for good: its rows are not parked, the loop backs off), and whether one published
    /// anything.
    /// </summary>
    private (bool Unavailable, bool Succeeded) Reap(List<Task<BatchResult>> inFlight)
    {
        bool unavailable = false, succeeded = false;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var finished = new List<BatchResult>();
        for (var i = inFlight.Count - 1; i >= 0; i--)
        {
            if (inFlight[i].IsCompleted)
            {
                // A publish task only ends otherwise when abandoned at a stop: its rows stay on disk.
                if (inFlight[i].IsCompletedSuccessfully)
                {
                    finished.Add(inFlight[i].Result);
                }
                else
                {
                    unavailable = true;
                }

                inFlight.RemoveAt(i);
            }
        }

        // Acceptances first: a refusal counts when the broker accepted other events since the row's previous attempt.
        foreach (var result in finished)
        {
            if (result.Accepted > 0)
            {
                succeeded = true;
                _acceptedEpoch++;
            }

            foreach (var message in result.AcceptedRetries)
            {
                _parked.Remove(message.Seq);
            }
        }

        foreach (var result in finished)
        {
            if (result.Refused.Count == 0)
            {
                continue;
            }

            if (!result.Retry && result.Accepted == 0 && !result.Refused.Exists(r => r.Kind == RefusalKind.Permanent))
            {
                unavailable = true;
                continue;
            }

            foreach (var refusal in result.Refused)
            {
                Park(refusal, result, now);
            }
        }

        return (unavailable, succeeded);
    }

    // A refused row waits (doubling per failure, as the whole outbox does) for a retry of its own; once the broker refused
    // it MaxRefusals times while working, it goes to the dead-letter table. Transient failures are retried forever.
    private void Park(Refusal refusal, BatchResult result, long now)
    {
        if (!_parked.TryGetValue(refusal.Message.Seq, out var parked))
        {
            _parked[refusal.Message.Seq] = parked = new Parked { FirstFailedMs = now, Epoch = -1 };
        }

        var counts = refusal.Kind switch
        {
            RefusalKind.Permanent => true,
            RefusalKind.Entry => result.Accepted > 0 || (parked.Epoch >= 0 && _acceptedEpoch > parked.Epoch),
            _ => false,
        };
        parked.InFlight = false;
        parked.Failures++;
        parked.Refusals += counts ? 1 : 0;
        parked.Epoch = _acceptedEpoch;
        parked.Error = refusal.Error;
        parked.DueMs = now + (long)Backoff(parked.Failures).TotalMilliseconds;
        if (parked.Refusals >= _options.MaxRefusals)
        {
            parked.InFlight = true; // not retried while it moves
            _dead.Add(new DeadLetter(refusal.Message, parked.Refusals, parked.FirstFailedMs, parked.Error));
        }
    }

    private async Task MoveToDeadLettersAsync()
    {
        if (_dead.Count == 0)
        {
            return;
        }

        var letters = _dead.ToList();
        _dead.Clear();
        try
        {
            await _outbox.DeadLetterAsync(letters);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidOperationException or System.Threading.Channels.ChannelClosedException)
        {
            // They stay in the outbox, parked: the next refusal tries again.
            foreach (var letter in letters)
            {
                _parked[letter.Message.Seq].InFlight = false;
            }

            LogDeadLetterFailed(_logger, letters.Count, _outbox.Path, e.GetType().Name, e.Message);
            return;
        }

        foreach (var group in letters.GroupBy(l => (l.Message.Topic, l.Error)))
        {
            LogDeadLettered(_logger, group.Count(), group.Key.Topic, group.Max(l => l.Refusals), group.Key.Error, _outbox.Path);
        }

        foreach (var letter in letters)
        {
            _parked.Remove(letter.Message.Seq);
        }
    }

    /// <summary>Parked rows whose retry is due, oldest first, at most a batch; null when none.</summary>
    private List<long>? DueRetries()
    {
        if (_parked.Count == 0)
        {
            return null;
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        List<long>? due = null;
        foreach (var (seq, parked) in _parked)
        {
            if (!parked.InFlight && parked.DueMs <= now)
            {
                (due ??= []).Add(seq);
            }
        }

        if (due is null)
        {
            return null;
        }

        due.Sort();
        return due.Count > _options.MaxBatch ? due[.._options.MaxBatch] : due;
    }

    private List<OutboxMessage> Retry(List<long> seqs)
    {
        var messages = _outbox.Read(seqs);
        var found = messages.Select(m => m.Seq).ToHashSet();
        foreach (var seq in seqs)
        {
            if (found.Contains(seq))
            {
                _parked[seq].InFlight = true;
            }
            else
            {
                _parked.Remove(seq); // no longer stored
            }
        }

        return messages;
    }

    /// <summary>When the next parked row is due for a retry; null when none waits.</summary>
    private TimeSpan? NextRetryIn()
    {
        long? next = null;
        foreach (var parked in _parked.Values)
        {
            if (!parked.InFlight && (next is null || parked.DueMs < next))
            {
                next = parked.DueMs;
            }
        }

        return next is { } due ? TimeSpan.FromMilliseconds(Math.Max(0, due - _time.GetUtcNow().ToUnixTimeMilliseconds())) : null;
    }

    private async Task WaitForWorkAsync(List<Task<BatchResult>> inFlight, CancellationToken stopping)
    {
        var woken = _wake.Reader.WaitToReadAsync(stopping).AsTask();
        var waits = new List<Task>(3) { woken };
        // A publish finishing may need a retry; it also ends this wait, as a parked row's retry falling due does.
        if (inFlight.Count > 0)
        {
            waits.Add(Task.WhenAny(inFlight));
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (NextRetryIn() is { } retryIn)
        {
            waits.Add(Task.Delay(retryIn, _time, timer.Token));
        }

        await Task.WhenAny(waits);
        await timer.CancelAsync();
        if (!woken.IsCompleted)
        {
            stopping.ThrowIfCancellationRequested();
            return;
        }

        await woken; // surfaces a cancellation
        _wake.Reader.TryRead(out _);
        // Per-event sidecar calls cost more CPU (app, sidecar, broker) than the events: a short window lets a busy app's
        // events gather into one bulk call per topic. Consumed before the read, so an event stored meanwhile wakes us again.
        if (_options.BatchDelayMs > 0 && _outbox.Count < _options.MaxBatch)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(_options.BatchDelayMs), _time, stopping);
        }
    }

    /// <summary>Publishes one batch, one call per topic; deletes what was accepted; says what was refused and how.</summary>
    private async Task<BatchResult> PublishAsync(List<OutboxMessage> batch, bool retry, bool contiguous, CancellationToken abandon)
    {
        await Task.Yield(); // the loop goes on reading the next batch meanwhile
        var topics = new Dictionary<string, List<OutboxMessage>>(StringComparer.Ordinal);
        foreach (var message in batch)
        {
            if (!topics.TryGetValue(message.Topic, out var messages))
            {
                topics[message.Topic] = messages = [];
            }

            messages.Add(message);
        }

        var results = await Task.WhenAll(topics.Select(t => PublishTopicAsync(t.Key, t.Value, abandon)));
        var refused = new List<Refusal>();
        foreach (var result in results)
        {
            refused.AddRange(result);
        }

        var accepted = batch;
        if (refused.Count > 0)
        {
            var refusedSeqs = refused.Select(r => r.Message.Seq).ToHashSet();
            accepted = batch.FindAll(m => !refusedSeqs.Contains(m.Seq));
        }

        try
        {
            // A range delete only for a batch that holds every row between its first and last sequence: not a retry's
            // scattered rows, nor a batch read around parked rows (the range would delete them unpublished).
            await _outbox.DeleteAsync(accepted, wholeBatch: refused.Count == 0 && contiguous);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidOperationException or System.Threading.Channels.ChannelClosedException)
        {
            // Accepted but still stored: published again later (the same ids, which subscribers de-duplicate).
            LogDeleteFailed(_logger, accepted.Count, _outbox.Path, e.GetType().Name, e.Message);
            return new BatchResult(retry, 0, [], [.. batch.Select(m => new Refusal(m, RefusalKind.Transient, "delete failed"))]);
        }

        _outbox.Published.Add(accepted.Count);
        if (Interlocked.Add(ref _deletedSinceCheckpoint, accepted.Count) >= CheckpointEvery || _outbox.Count == 0)
        {
            Interlocked.Exchange(ref _deletedSinceCheckpoint, 0);
            _outbox.Checkpoint();
        }

        return new BatchResult(retry, accepted.Count, retry ? accepted : [], refused);
    }

    private async Task<List<Refusal>> PublishTopicAsync(string topic, List<OutboxMessage> messages, CancellationToken abandon)
    {
        try
        {
            var refused = await _sink.PublishAsync(topic, messages, abandon);
            if (refused.Count > 0)
            {
                _outbox.PublishFailures.Add(refused.Count);
                LogRefused(_logger, refused.Count, messages.Count, topic);
            }

            return [.. refused.Select(m => new Refusal(m, RefusalKind.Entry, "refused by the broker"))];
        }
        catch (Exception e) when (e is not OperationCanceledException || !abandon.IsCancellationRequested)
        {
            _outbox.PublishFailures.Add(messages.Count);
            var permanent = IsPermanent(e);
            if (permanent)
            {
                LogRefusedForGood(_logger, messages.Count, topic, e.GetType().Name, e.Message);
            }
            else
            {
                LogFailed(_logger, messages.Count, topic, e.GetType().Name, e.Message);
            }

            var error = $"{e.GetType().Name}: {e.Message}";
            return [.. messages.Select(m => new Refusal(m, permanent ? RefusalKind.Permanent : RefusalKind.Transient, error))];
        }
    }

    /// <summary>
    /// Whether the sidecar refused the call itself, for a reason a retry does not change (a 4xx answer: a topic the app is
    /// not scoped to, an unknown pub/sub, a malformed request), rather than being unreachable, busy or failing (5xx).
    /// </summary>
    public static bool IsPermanent(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                // 408 and 429 ask for a retry; 413 is about the call's size, not one event.
                case HttpRequestException { StatusCode: { } status }:
                    return (int)status is >= 400 and < 500 and not 408 and not 413 and not 429;
                case Grpc.Core.RpcException rpc:
                    return rpc.StatusCode is Grpc.Core.StatusCode.PermissionDenied or Grpc.Core.StatusCode.InvalidArgument or Grpc.Core.StatusCode.NotFound;
            }
        }

        return false;
    }

    // Cancels rather than disposes the tokens (they hold no timers): a host may dispose its services while a StopAsync is
    // still waiting for the outbox's final flush, which then ends (abandoned) instead of throwing ObjectDisposedException.
    public void Dispose()
    {
        _stopping.Cancel();
        _abandon.Cancel();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The broker refused {Refused} of {Count} {Topic} events; they stay in the outbox and are retried")]
    private static partial void LogRefused(ILogger logger, int refused, int count, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing {Count} {Topic} events failed ({Error}: {Message}); they stay in the outbox and are retried")]
    private static partial void LogFailed(ILogger logger, int count, string topic, string error, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The sidecar refused {Count} {Topic} events ({Error}: {Message}); they stay in the outbox and are retried, other topics go on")]
    private static partial void LogRefusedForGood(ILogger logger, int count, string topic, string error, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} {Topic} events were refused {Refusals} times ({Error}) and moved to the dead-letter table outbox_dead of {Path}; they are kept, not published")]
    private static partial void LogDeadLettered(ILogger logger, int count, string topic, int refusals, string error, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Moving {Count} events to the dead-letter table of {Path} failed ({Error}: {Message}); they stay in the outbox")]
    private static partial void LogDeadLetterFailed(ILogger logger, int count, string path, string error, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Deleting {Count} published events from {Path} failed ({Error}: {Message}); they will be published again")]
    private static partial void LogDeleteFailed(ILogger logger, int count, string path, string error, string message);

    private enum RefusalKind
    {
        /// <summary>The call failed (sidecar unreachable, 5xx, timeout): retried forever, never dead-lettered.</summary>
        Transient,

        /// <summary>The broker refused this entry of a call it answered; it counts when other events got through meanwhile.</summary>
        Entry,

        /// <summary>The sidecar refused the call (4xx): counts every time.</summary>
        Permanent,
    }

    private sealed record Refusal(OutboxMessage Message, RefusalKind Kind, string Error);

    /// <summary>What one publish did: rows accepted (and, for a retry, which), and rows refused with why.</summary>
    private sealed record BatchResult(bool Retry, int Accepted, List<OutboxMessage> AcceptedRetries, List<Refusal> Refused);

    /// <summary>A row refused at least once and not yet published.</summary>
    private sealed class Parked
    {
        public int Failures { get; set; }

        public int Refusals { get; set; }

        public long FirstFailedMs { get; init; }

        public long DueMs { get; set; }

        // Its retry is being published (or it is moving to the dead letters): not due again meanwhile.
        public bool InFlight { get; set; }

        // _acceptedEpoch at its last refusal; -1 before the first.
        public long Epoch { get; set; }

        public string Error { get; set; } = "";
    }
}
