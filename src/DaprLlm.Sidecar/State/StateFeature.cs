using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.State;

/// <summary>Wiring of the State building block: state.redis and state.sqlite components, HTTP and gRPC APIs.</summary>
public static class StateFeature
{
    public static WebApplicationBuilder AddState(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IComponentFactory, RedisStateStoreFactory>();
        builder.Services.AddSingleton<IComponentFactory, SqliteStateStoreFactory>();
        builder.Services.AddSingleton<StateStores>();
        builder.Services.AddSingleton<StateService>();
        return builder;
    }

    public static WebApplication MapState(this WebApplication app)
    {
        app.MapStateApi();
        app.MapGrpcService<StateGrpcService>();
        return app;
    }
}
