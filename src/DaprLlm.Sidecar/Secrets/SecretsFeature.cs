using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.Secrets;

/// <summary>Wiring of the Secrets building block: local.file and local.env stores, HTTP and gRPC APIs.</summary>
public static class SecretsFeature
{
    public static WebApplicationBuilder AddSecrets(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IComponentFactory, LocalFileSecretStoreFactory>();
        builder.Services.AddSingleton<IComponentFactory, EnvSecretStoreFactory>();
        builder.Services.AddSingleton<SecretService>();
        return builder;
    }

    public static WebApplication MapSecrets(this WebApplication app)
    {
        app.MapSecretsApi();
        app.MapGrpcService<SecretsGrpcService>();
        return app;
    }
}
