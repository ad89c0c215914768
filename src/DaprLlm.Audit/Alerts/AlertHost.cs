namespace DaprLlm.Audit.Alerts;

/// <summary>
/// Reads the persisted alert history back (retrying until the sidecar answers), delivers queued alerts, closes elapsed
/// buckets on a timer and saves the history whenever it changed.
/// </summary>
public sealed partial class AlertHost(AlertService alerts, AlertHistoryStore history, AlertOptions options, TimeProvider time, ILogger<AlertHost> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delivery = Task.Run(async () =>
        {
            await foreach (var alert in alerts.Outbox.ReadAllAsync(stoppingToken))
            {
                await alerts.DeliverAsync(alert, stoppingToken);
            }
        }, stoppingToken);
        var restore = Task.Run(() => RestoreAsync(stoppingToken), stoppingToken);
        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond / 2, (options.Step < options.Bucket ? options.Step : options.Bucket).Ticks / 2)), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            alerts.Tick();
            try
            {
                await alerts.SaveAsync(history, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Still in memory and still dirty: the next tick saves it.
                LogSaveFailed(logger, e.GetType().Name);
            }
        }

        await Task.WhenAll(delivery, restore);
    }

    private async Task RestoreAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                alerts.Restore(await history.LoadAsync(stoppingToken));
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRestoreFailed(logger, e.GetType().Name);
                await Task.Delay(delay, time, stoppingToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
            }
        }
    }

    [LoggerMessage(LogLevel.Warning, "The alert history could not be read yet ({Error}); retrying")]
    private static partial void LogRestoreFailed(ILogger logger, string error);

    [LoggerMessage(LogLevel.Warning, "The alert history could not be saved ({Error}); retrying on the next tick")]
    private static partial void LogSaveFailed(ILogger logger, string error);
}
