using System.Threading.Channels;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Audit;

/// <summary>
/// Publishes audit events (request.received, request.completed, admin.action) without making the client wait:
/// events go through a bounded channel to one background reader, which lets them gather for a short batch window
/// and sends them as one bulk publish per topic (a few sidecar calls for many events, with up to
/// <see cref="AuditOptions.Publishers"/> calls in flight). A full channel drops the event and logs it (never blocks a
/// request); a failed publish is logged; retries belong to Dapr resiliency (pubsub outbound).
/// </summary>
public sealed partial class AuditPublisher : IHostedService, IDisposable
{
    private readonly IAuditSink _sink;
    private readonly ILogger<AuditPublisher> _logger;
    private readonly AuditOptions _options;
    private readonly Channel<Pending> _queue;

    // Stopping drains: _stopping only cuts the batch window short; _abandon (the host's shutdown timeout) ends the drain.
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abandon = new();
    private Task _loop = Task.CompletedTask;

    public AuditPublisher(IAuditSink sink, IOptions<AuditOptions> options, ILogger<AuditPublisher> logger)
    {
        _sink = sink;
        _logger = logger;
        _options = options.Value;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: a full queue refuses, the request never waits
            SingleReader = true,
        });
    }

    /// <summary>Events accepted but not yet handed to the sidecar.</summary>
    public int Backlog => _queue.Reader.Count;

    public void Enqueue(RequestCompletedV1 completed) => Enqueue(Topics.RequestCompleted, completed.RequestId, completed);

    public void Enqueue(RequestReceivedV1 received) => Enqueue(Topics.RequestReceived, received.RequestId, received);

    public void Enqueue(AdminActionV1 action) => Enqueue(Topics.AdminAction, action.KeyId ?? action.TenantId ?? action.Action, action);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Our own loop rather than BackgroundService's: a stop right after start must still drain, and
        // BackgroundService (Task.Run with its token) may never run ExecuteAsync when stopped that early.
        _loop = Task.Run(() => PublishLoopAsync(_stopping.Token, _abandon.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // No new events after this; what was accepted is still sent (a request's audit trail must not vanish because
        // the gateway restarted). The drain ends early only when the host's shutdown timeout cuts it off.
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await using var giveUp = cancellationToken.Register(() => _abandon.Cancel());
        try
        {
            await _loop;
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
        }
    }

    private async Task PublishLoopAsync(CancellationToken stopping, CancellationToken abandon)
    {
        var inFlight = new List<Task>();
        var delay = TimeSpan.FromMilliseconds(_options.BatchDelayMs);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(abandon))
            {
                // Per-event sidecar calls cost more CPU (gateway, sidecar, Redis) than the events themselves: a short
                // wait lets a busy gateway's events gather into one bulk call per topic. Wall-clock on purpose: this is
                // transport batching, not business time, and must not stall under a test's fake clock.
                if (delay > TimeSpan.Zero && _queue.Reader.Count < _options.MaxBatch && !stopping.IsCancellationRequested)
                {
                    try
                    {
                        await Task.Delay(delay, stopping);
                    }
                    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                    {
                        // Stopping: nothing more will arrive, so the window ends and the drain goes on.
                    }
                }

                var batch = new List<Pending>(Math.Min(_queue.Reader.Count, _options.MaxBatch));
                while (batch.Count < _options.MaxBatch && _queue.Reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                }

                inFlight.RemoveAll(t => t.IsCompleted);
                if (inFlight.Count >= _options.Publishers)
                {
                    await Task.WhenAny(inFlight);
                    inFlight.RemoveAll(t => t.IsCompleted);
                }

                inFlight.Add(PublishBatchAsync(batch, abandon));
            }
        }
        catch (OperationCanceledException) when (abandon.IsCancellationRequested)
        {
        }

        await Task.WhenAll(inFlight);
    }

    private void Enqueue(string topic, string id, object data)
    {
        if (_options.Enabled && !_queue.Writer.TryWrite(new Pending(topic, id, data)))
        {
            LogDropped(_logger, topic, id);
        }
    }

    private async Task PublishBatchAsync(List<Pending> batch, CancellationToken stoppingToken)
    {
        await Task.Yield(); // the reader goes on gathering the next batch meanwhile
        var topics = new Dictionary<string, List<Pending>>(StringComparer.Ordinal);
        foreach (var pending in batch)
        {
            if (!topics.TryGetValue(pending.Topic, out var events))
            {
                topics[pending.Topic] = events = [];
            }

            events.Add(pending);
        }

        await Task.WhenAll(topics.Select(t => PublishAsync(t.Key, t.Value, stoppingToken)));
    }

    private async Task PublishAsync(string topic, List<Pending> events, CancellationToken stoppingToken)
    {
        try
        {
            var failed = await _sink.PublishAsync(topic, events.ConvertAll(e => e.Data), stoppingToken);
            foreach (var (data, error) in failed)
            {
                LogFailed(_logger, topic, events.Find(e => ReferenceEquals(e.Data, data))?.Id ?? "?", error);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            foreach (var pending in events)
            {
                LogFailed(_logger, topic, pending.Id, e.GetType().Name);
            }
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _abandon.Dispose();
    }

    private sealed record Pending(string Topic, string Id, object Data);

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit queue full: {Topic} for {Id} was not published")]
    private static partial void LogDropped(ILogger logger, string topic, string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "Publishing {Topic} for {Id} failed ({Error})")]
    private static partial void LogFailed(ILogger logger, string topic, string id, string error);
}
