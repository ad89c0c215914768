using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Quotas;

/// <summary>Settles leases with their actors in the background, so requests never wait for a settle.</summary>
public sealed partial class QuotaFlusher(QuotaService quotas, IOptions<QuotaOptions> options, TimeProvider time, ILogger<QuotaFlusher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FlushInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var lease in quotas.Leases)
            {
                try
                {
                    await lease.FlushAsync(time, options.Value.IdleReturnAfter);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Kept in the lease and sent again before its next exchange; logged so a lasting failure is visible.
                    LogFlushFailed(logger, lease.ActorId, e.GetType().Name);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Settling quota lease {ActorId} failed ({Error}); will retry")]
    private static partial void LogFlushFailed(ILogger logger, string actorId, string error);
}
