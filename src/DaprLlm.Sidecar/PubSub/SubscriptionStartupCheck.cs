using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// Reads this app's Subscription resources when the sidecar starts, so an invalid one (no topic, a rule without a
/// path, a bad match expression) stops it at once naming the file, instead of being skipped once the app is up.
/// </summary>
internal sealed class SubscriptionStartupCheck(ComponentRegistry registry, ILogger<SubscriptionStartupCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var document in registry.Documents("Subscription"))
        {
            try
            {
                SubscriptionReader.ReadDeclarative(document);
            }
            catch (FormatException e)
            {
                // Failing StartAsync stops the host and the process exits non-zero.
                var problem = e.Message.StartsWith(document.Describe(), StringComparison.Ordinal) ? e.Message : $"{document.Describe()}: {e.Message}";
                logger.LogCritical("fatal: {Problem}", problem);
                throw new ComponentConfigException(problem, e);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
