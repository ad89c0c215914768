using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DaprLlm.Inference.Catalog;

/// <summary>
/// Loads warm models while the host starts: a missing or corrupt model fails the start with its reason, so a
/// broken replica never reports ready.
/// </summary>
public sealed partial class WarmModelLoader(ModelRegistry registry, ILogger<WarmModelLoader> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var (threads, reason) = registry.Options.ResolveIntraOpThreads();
        LogIntraOpThreads(logger, threads, reason, registry.Options.IntraOpSpinning);
        var (splitRows, splitReason) = registry.Options.ResolveSplitStepRows();
        LogSplitStepRows(logger, splitRows, splitReason);
        try
        {
            await registry.LoadWarmAsync().WaitAsync(cancellationToken);
        }
        catch (Onnx.ModelLoadException e)
        {
            LogLoadFailed(logger, e.Message);
            throw;
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "ONNX Runtime intra-op threads per session: {Threads} (0 = ONNX Runtime decides; {Reason}), spinning {Spinning}")]
    private static partial void LogIntraOpThreads(ILogger logger, int threads, string reason, bool spinning);

    [LoggerMessage(Level = LogLevel.Information, Message = "Decode steps split into two concurrent halves from {Rows} rows (0 = never; {Reason})")]
    private static partial void LogSplitStepRows(ILogger logger, int rows, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Warm model failed to load: {Reason}")]
    private static partial void LogLoadFailed(ILogger logger, string reason);
}

/// <summary>/health is ready only when every warm model is loaded; a model that failed or is stalled makes it degraded.</summary>
public sealed class ModelsHealthCheck(ModelRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!registry.WarmModelsReady)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("warm models are not loaded"));
        }

        // Degraded, as a failed model: the replica still serves its other models; the reason names what is wrong.
        var problems = registry.Options.Models.Keys
            .Select(id => registry.IfLoaded(id)?.Stalled is { } stalled ? $"{id} stalled: {stalled}"
                : registry.Status(id) == "failed" ? $"{id} failed" : null)
            .OfType<string>().ToArray();
        return Task.FromResult(problems.Length == 0
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Degraded(string.Join("; ", problems)));
    }
}
