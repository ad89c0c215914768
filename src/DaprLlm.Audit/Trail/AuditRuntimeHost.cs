namespace DaprLlm.Audit.Trail;

/// <summary>Loads the keys from the secret store (retrying until the sidecar answers) and starts the writers.</summary>
public sealed partial class AuditRuntimeHost(AuditRuntime runtime, IAuditKeySource keys, ILogger<AuditRuntimeHost> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await runtime.StartAsync(await keys.LoadAsync(stoppingToken), stoppingToken);
                LogReady(logger, runtime.Options.Store, string.Join(",", runtime.Options.Regions));
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogNotReady(logger, e.GetType().Name, e.Message);
                await Task.Delay(delay, runtime.Time, stoppingToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await runtime.DisposeAsync();
    }

    [LoggerMessage(LogLevel.Information, "Audit trail ready: {Store} stores for regions {Regions}")]
    private static partial void LogReady(ILogger logger, string store, string regions);

    [LoggerMessage(LogLevel.Warning, "Audit trail not ready yet ({Error}: {Message}); retrying")]
    private static partial void LogNotReady(ILogger logger, string error, string message);
}
