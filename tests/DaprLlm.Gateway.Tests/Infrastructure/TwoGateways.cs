namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>
/// Two gateway replicas (app id "gateway", each with its own sidecar and its own in-memory caches) with the settings
/// of <see cref="SingleGateway"/>, sharing Redis: what a GDPR erasure has to reach on every replica.
/// </summary>
public sealed class TwoGateways : SingleGateway, IAsyncLifetime
{
    public GatewayNode Second { get; private set; } = null!;

    public new async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        Second = await GatewayNode.StartAsync(Environment, Backend, Time, Settings);
    }

    public new async ValueTask DisposeAsync()
    {
        if (Second is not null)
        {
            await Second.DisposeAsync();
        }

        await base.DisposeAsync();
    }
}
