using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Retention;

/// <summary>Runs the retention job on its interval for every region (it can also be started through the admin API).</summary>
public sealed partial class RetentionHost(AuditRuntime runtime, RetentionJob job, ILogger<RetentionHost> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(runtime.Options.RetentionInterval, runtime.Time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!runtime.IsReady)
            {
                continue;
            }

            foreach (var writer in runtime.Writers.Values)
            {
                try
                {
                    var result = await job.RunAsync(writer, stoppingToken);
                    LogRun(logger, result.Region, result.SegmentsArchived, result.RecordsArchived, result.SegmentsDeleted);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Safe to retry on the next tick: every step is idempotent.
                    LogFailed(logger, writer.Store.Region, e.GetType().Name, e.Message);
                }
            }
        }
    }

    [LoggerMessage(LogLevel.Information, "Retention in {Region}: {Segments} segments archived ({Records} records), {Deleted} segments deleted")]
    private static partial void LogRun(ILogger logger, string region, int segments, long records, int deleted);

    [LoggerMessage(LogLevel.Warning, "Retention in {Region} failed ({Error}: {Message}); it resumes on the next run")]
    private static partial void LogFailed(ILogger logger, string region, string error, string message);
}
