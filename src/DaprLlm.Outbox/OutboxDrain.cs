using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DaprLlm.Outbox;

/// <summary>
/// Publishes what <see cref="DurableOutbox"/> holds, oldest first: reads a batch, sends one publish per topic in it
/// (up to <see cref="OutboxOptions.Publishers"/> batches in flight), and deletes a row only after the sidecar accepted
/// it. A failure keeps the rows, waits (doubling from <see cref="OutboxOptions.MinBackoffMs"/> to
/// <see cref="OutboxOptions.MaxBackoffMs"/>) and retries from the oldest row, forever. Rows left at a stop or a crash
/// are drained at the next start.
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
        var inFlight = new List<Task<bool>>();
        var cursor = 0L;
        var failures = 0;
        try
        {
            while (!abandon.IsCancellationRequested)
            {
                var (failed, succeeded) = Reap(inFlight);
                if (succeeded && !failed)
                {
                    failures = 0;
                }

                if (failed)
                {
                    // Some rows were not accepted: let the other batches finish, wait, and start again from the oldest row.
                    await ((Task)Task.WhenAll(inFlight)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    Reap(inFlight);
                    if (stopping.IsCancellationRequested)
                    {
                        break; // the rows stay on disk for the next start
                    }

                    failures++;
                    var backoff = Math.Min(_options.MaxBackoffMs, _options.MinBackoffMs * Math.Pow(2, Math.Min(failures - 1, 20)));
                    await Task.Delay(TimeSpan.FromMilliseconds(backoff), _time, stopping);
                    cursor = 0;
                    continue;
                }

                if (inFlight.Count >= _options.Publishers)
                {
                    await Task.WhenAny(inFlight);
                    continue;
                }

                // Sequence numbers only grow while the outbox is open, so every row not yet read is above the cursor.
                var batch = _outbox.Read(cursor, _options.MaxBatch);
                if (batch.Count == 0)
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

                cursor = batch[^1].Seq;
                inFlight.Add(PublishAsync(batch, abandon));
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopped during a wait: what is not yet published stays on disk for the next start.
        }

        await ((Task)Task.WhenAll(inFlight)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Removes finished publishes: whether one of them left rows behind, and whether one published everything.</summary>
    private static (bool Failed, bool Succeeded) Reap(List<Task<bool>> inFlight)
    {
        bool failed = false, succeeded = false;
        for (var i = inFlight.Count - 1; i >= 0; i--)
        {
            if (inFlight[i].IsCompleted)
            {
                var ok = inFlight[i].IsCompletedSuccessfully && inFlight[i].Result;
                failed |= !ok;
                succeeded |= ok;
                inFlight.RemoveAt(i);
            }
        }

        return (failed, succeeded);
    }

    private async Task WaitForWorkAsync(List<Task<bool>> inFlight, CancellationToken stopping)
    {
        var woken = _wake.Reader.WaitToReadAsync(stopping).AsTask();
        if (inFlight.Count > 0)
        {
            // A publish finishing may need a retry; it also ends this wait.
            await Task.WhenAny(woken, Task.WhenAny(inFlight));
        }
        else
        {
            await woken;
        }

        if (!woken.IsCompleted)
        {
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

    /// <summary>Publishes one batch, one call per topic; deletes what was accepted; true when everything was.</summary>
    private async Task<bool> PublishAsync(List<OutboxMessage> batch, CancellationToken abandon)
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
        var accepted = new List<OutboxMessage>(batch.Count);
        var complete = true;
        foreach (var (sent, refused) in results)
        {
            if (refused.Count == 0)
            {
                accepted.AddRange(sent);
                continue;
            }

            complete = false;
            var refusedSeqs = refused.Select(m => m.Seq).ToHashSet();
            accepted.AddRange(sent.Where(m => !refusedSeqs.Contains(m.Seq)));
        }

        await _outbox.DeleteAsync(complete ? batch : accepted, wholeBatch: complete);
        _outbox.Published.Add(accepted.Count);
        if (Interlocked.Add(ref _deletedSinceCheckpoint, accepted.Count) >= CheckpointEvery || _outbox.Count == 0)
        {
            Interlocked.Exchange(ref _deletedSinceCheckpoint, 0);
            _outbox.Checkpoint();
        }

        return complete;
    }

    private async Task<(List<OutboxMessage> Sent, IReadOnlyList<OutboxMessage> Refused)> PublishTopicAsync(string topic, List<OutboxMessage> messages, CancellationToken abandon)
    {
        try
        {
            var refused = await _sink.PublishAsync(topic, messages, abandon);
            if (refused.Count > 0)
            {
                _outbox.PublishFailures.Add(refused.Count);
                LogRefused(_logger, refused.Count, messages.Count, topic);
            }

            return (messages, refused);
        }
        catch (Exception e) when (e is not OperationCanceledException || !abandon.IsCancellationRequested)
        {
            _outbox.PublishFailures.Add(messages.Count);
            LogFailed(_logger, messages.Count, topic, e.GetType().Name, e.Message);
            return (messages, messages);
        }
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
}
