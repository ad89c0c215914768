using Dapr.Actors.Client;

namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>
/// A gateway whose quota actors cannot be reached: its actor proxies call the Dapr actor API on a loopback port where
/// nothing listens (as when the actor host or its sidecar is down), through the SDK's own HTTP client.
/// </summary>
public sealed class UnreachableQuotaGateway : SingleGateway
{
    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<IActorProxyFactory>(new ActorProxyFactory(new ActorProxyOptions { HttpEndpoint = $"http://127.0.0.1:{Ports.GetFree()}" }));
}
