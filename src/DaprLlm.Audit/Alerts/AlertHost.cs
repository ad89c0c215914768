namespace DaprLlm.Audit.Alerts;

/// <summary>Delivers queued alerts and closes elapsed buckets on a timer.</summary>
public sealed class AlertHost(AlertService alerts, AlertOptions options, TimeProvider time) : BackgroundService
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
        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond / 2, options.Bucket.Ticks / 4)), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            alerts.Tick();
        }

        await delivery;
    }
}
