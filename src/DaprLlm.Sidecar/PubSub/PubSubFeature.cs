using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Metadata;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>Wiring of the pub/sub building block: components, publish APIs (HTTP and gRPC) and app subscriptions.</summary>
public static class PubSubFeature
{
    public static WebApplicationBuilder AddPubSub(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IComponentFactory, RedisPubSubFactory>();
        builder.Services.AddSingleton<IComponentFactory, InMemoryPubSubFactory>();
        builder.Services.AddSingleton<Publisher>();
        builder.Services.AddSingleton<AppDelivery>();
        builder.Services.AddSingleton<InboundPipelines>();
        builder.Services.AddSingleton<SubscriptionManager>();
        builder.Services.AddHostedService<SubscriptionStartupCheck>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SubscriptionManager>());
        builder.Services.AddSingleton<IMetadataContributor>(sp => sp.GetRequiredService<SubscriptionManager>());
        return builder;
    }

    public static WebApplication MapPubSub(this WebApplication app)
    {
        app.MapPubSubApi();
        app.MapGrpcService<PubSubGrpcService>();
        return app;
    }
}
