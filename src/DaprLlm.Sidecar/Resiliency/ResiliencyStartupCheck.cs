using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.Resiliency;

/// <summary>Loads the Resiliency resources when the sidecar starts, so an invalid file stops it at once with its name and problem.</summary>
internal sealed class ResiliencyStartupCheck(ResiliencyPolicies policies, ILogger<ResiliencyStartupCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _ = policies.Spec;
        }
        catch (ComponentConfigException e)
        {
            // Failing StartAsync stops the host and the process exits non-zero.
            logger.LogCritical("fatal: {Problem}", e.Message);
            throw;
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
