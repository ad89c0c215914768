using System.Threading.Channels;
using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Audit;

/// <summary>
/// Publishes audit events (request.received, request.completed, admin.action) without making the client wait:
/// events go through a bounded channel to background publishers, which send what has queued up as one bulk publish
/// per topic (one sidecar call for many events under load, one per event when idle). A full channel drops the event
/// and logs it (never blocks a request); a failed publish is logged; retries belong to Dapr resiliency (pubsub outbound).
/// </summary>
public sealed partial class AuditPublisher : BackgroundService
{
    private readonly DaprClient _dapr;
    private readonly ILogger<AuditPublisher> _logger;
    private readonly AuditOptions _options;
    private readonly Channel<Pending> _queue;

    public AuditPublisher(DaprClient dapr, IOptions<AuditOptions> options, ILogger<AuditPublisher> logger)
    {
        _dapr = dapr;
        _logger = logger;
        _options = options.Value;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: a full queue refuses, the request never waits
            SingleReader = false,
        });
    }

    /// <summary>Events accepted but not yet handed to the sidecar.</summary>
    public int Backlog => _queue.Reader.Count;

    public void Enqueue(RequestCompletedV1 completed) => Enqueue(Topics.RequestCompleted, completed.RequestId, completed);

    public void Enqueue(RequestReceivedV1 received) => Enqueue(Topics.RequestReceived, received.RequestId, received);

    public void Enqueue(AdminActionV1 action) => Enqueue(Topics.AdminAction, action.KeyId ?? action.TenantId ?? action.Action, action);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A few publishers in parallel keep up with a loaded gateway; each publish is one sidecar call.
        await Task.WhenAll(Enumerable.Range(0, _options.Publishers).Select(_ => PublishLoopAsync(stoppingToken)));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Drain what was accepted before stopping.
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private void Enqueue(string topic, string id, object data)
    {
        if (_options.Enabled && !_queue.Writer.TryWrite(new Pending(topic, id, data)))
        {
            LogDropped(_logger, topic, id);
        }
    }

    private async Task PublishLoopAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Pending>(_options.MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < _options.MaxBatch && _queue.Reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                }

                foreach (var topic in batch.Select(p => p.Topic).Distinct())
                {
                    await PublishAsync(topic, batch.FindAll(p => p.Topic == topic), stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task PublishAsync(string topic, List<Pending> events, CancellationToken stoppingToken)
    {
        try
        {
            if (events.Count == 1)
            {
                // object: System.Text.Json writes the runtime type, so each record keeps all its fields.
                await _dapr.PublishEventAsync(DaprComponents.PubSub, topic, events[0].Data, stoppingToken);
                return;
            }

            var response = await _dapr.BulkPublishEventAsync(DaprComponents.PubSub, topic, events.ConvertAll(e => e.Data), cancellationToken: stoppingToken);
            foreach (var failed in response.FailedEntries)
            {
                LogFailed(_logger, topic, failed.Entry.EntryId, failed.ErrorMessage);
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

    private sealed record Pending(string Topic, string Id, object Data);

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit queue full: {Topic} for {Id} was not published")]
    private static partial void LogDropped(ILogger logger, string topic, string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "Publishing {Topic} for {Id} failed ({Error})")]
    private static partial void LogFailed(ILogger logger, string topic, string id, string error);
}
