using System.Threading.Channels;
using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// Publishes <see cref="ModerationDecidedV1"/> through Dapr pub/sub off the request path: a check only enqueues
/// (never waits, never throws); a background loop publishes. When the queue is full or the sidecar refuses, the
/// event is dropped and counted, because a moderation answer must not depend on the audit pipeline.
/// </summary>
public sealed class DecisionEventPublisher : BackgroundService
{
    private readonly Channel<ModerationDecidedV1> _queue;
    private readonly DaprClient _dapr;
    private readonly SafetyTelemetry _telemetry;
    private readonly ILogger<DecisionEventPublisher> _logger;
    private long _dropped;

    public DecisionEventPublisher(DaprClient dapr, SafetyTelemetry telemetry, IOptions<ModerationOptions> options, ILogger<DecisionEventPublisher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _dapr = dapr;
        _telemetry = telemetry;
        _logger = logger;
        _queue = Channel.CreateBounded<ModerationDecidedV1>(new BoundedChannelOptions(options.Value.DecisionEventQueue)
        {
            // With Wait, TryWrite answers false on a full queue (DropWrite would claim success and drop silently).
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
    }

    /// <summary>Events this publisher dropped since it was created (queue full or publish failed).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues the event for publishing; false (and counted) when the queue is full.</summary>
    public bool TryEnqueue(ModerationDecidedV1 decided)
    {
        if (_queue.Writer.TryWrite(decided))
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        _telemetry.DecisionEventDropped("queue_full");
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var decided in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await PublishAsync(decided, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: what is still queued is lost with the process, like any in-memory buffer.
        }
    }

    private async Task PublishAsync(ModerationDecidedV1 decided, CancellationToken cancellationToken)
    {
        try
        {
            await _dapr.PublishEventAsync(DaprComponents.PubSub, Topics.ModerationDecided, decided, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Retries belong to the Dapr resiliency policy of the pub/sub component; here a failure is only counted.
            Interlocked.Increment(ref _dropped);
            _telemetry.DecisionEventDropped("publish_failed");
            _logger.LogWarning(ex, "moderation.decided for request {RequestId} was not published", decided.RequestId);
        }
    }
}
