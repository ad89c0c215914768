using System.Threading.Channels;
using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;

namespace DaprLlm.Gateway.Audit;

/// <summary>
/// Publishes request.completed without making the client wait: events go through a bounded channel to a
/// background publisher. A full channel or a failed publish is logged (never silently lost); publishing is
/// retried by Dapr resiliency (pubsub outbound).
/// </summary>
public sealed partial class AuditPublisher(DaprClient dapr, ILogger<AuditPublisher> logger) : BackgroundService
{
    private readonly Channel<RequestCompletedV1> _queue = Channel.CreateBounded<RequestCompletedV1>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.Wait, SingleReader = false });

    public void Enqueue(RequestCompletedV1 completed)
    {
        if (!_queue.Writer.TryWrite(completed))
        {
            LogDropped(logger, completed.RequestId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A few publishers in parallel keep up with a loaded gateway; each publish is one sidecar call.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PublishLoopAsync(stoppingToken)));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Drain what was accepted before stopping.
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private async Task PublishLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var completed in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await dapr.PublishEventAsync(DaprComponents.PubSub, Topics.RequestCompleted, completed, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogFailed(logger, completed.RequestId, e.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit queue full: request.completed for {RequestId} was not published")]
    private static partial void LogDropped(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Publishing request.completed for {RequestId} failed ({Error})")]
    private static partial void LogFailed(ILogger logger, string requestId, string error);
}
