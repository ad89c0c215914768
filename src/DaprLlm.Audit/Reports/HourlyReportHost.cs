using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Reports;

/// <summary>Runs the <see cref="HourlyReportJob"/> on start and then every ReportCheckInterval.</summary>
public sealed partial class HourlyReportHost(AuditRuntime runtime, HourlyReportJob job, ILogger<HourlyReportHost> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(runtime.Options.ReportCheckInterval, runtime.Time);
        do
        {
            if (!runtime.IsReady)
            {
                continue;
            }

            try
            {
                foreach (var path in await job.RunDueAsync(runtime.Writers.Values, stoppingToken))
                {
                    LogWritten(logger, path);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Nothing half-done counts as done: the next tick writes what is missing.
                LogFailed(logger, e.GetType().Name, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(LogLevel.Information, "Hourly compliance report written: {Path}")]
    private static partial void LogWritten(ILogger logger, string path);

    [LoggerMessage(LogLevel.Warning, "Hourly compliance report failed ({Error}: {Message}); retrying on the next tick")]
    private static partial void LogFailed(ILogger logger, string error, string message);
}
