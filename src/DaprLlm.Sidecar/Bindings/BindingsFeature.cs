using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.Bindings;

/// <summary>Wiring of the Bindings building block: bindings.http output binding, HTTP and gRPC APIs.</summary>
public static class BindingsFeature
{
    public static WebApplicationBuilder AddBindings(this WebApplicationBuilder builder)
    {
        builder.Services.AddHttpClient(HttpOutputBindingFactory.HttpClientName)
            .ConfigureHttpClient(c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = true });
        builder.Services.AddSingleton<IComponentFactory, HttpOutputBindingFactory>();
        builder.Services.AddSingleton<BindingService>();
        return builder;
    }

    public static WebApplication MapBindings(this WebApplication app)
    {
        app.MapBindingsApi();
        app.MapGrpcService<BindingsGrpcService>();
        return app;
    }
}
