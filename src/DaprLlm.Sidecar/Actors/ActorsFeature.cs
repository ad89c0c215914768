using DaprLlm.Sidecar.Metadata;

namespace DaprLlm.Sidecar.Actors;

/// <summary>Wiring of the Actors building block: runtime, placement leases, reminders, HTTP API, metadata.</summary>
public static class ActorsFeature
{
    public static WebApplicationBuilder AddActors(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<ActorStateStoreResolver>();
        services.AddSingleton<ActorPlacement>();
        services.AddSingleton<ActorRuntime>();
        services.AddHostedService(sp => sp.GetRequiredService<ActorRuntime>());
        services.AddOptions<ActorReminderOptions>().BindConfiguration(ActorReminderOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ActorReminders>();
        services.AddHostedService(sp => sp.GetRequiredService<ActorReminders>());
        services.AddSingleton<IMetadataContributor, ActorsMetadata>();
        services.AddHttpClient(ActorRuntime.ForwardClientName)
            .ConfigureHttpClient(c => c.Timeout = TimeSpan.FromMinutes(5))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) });
        return builder;
    }

    public static WebApplication MapActors(this WebApplication app)
    {
        app.MapActorsApi();
        app.MapGrpcService<ActorsGrpcService>();
        return app;
    }
}
