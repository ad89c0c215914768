namespace DaprLlm.Sidecar.Metadata;

/// <summary>Wiring of the Metadata building block: GET/PUT /v1.0/metadata and gRPC GetMetadata/SetMetadata.</summary>
public static class MetadataFeature
{
    public static WebApplicationBuilder AddMetadata(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ExtendedMetadata>();
        builder.Services.AddSingleton<MetadataService>();
        return builder;
    }

    public static WebApplication MapMetadata(this WebApplication app)
    {
        app.MapMetadataApi();
        app.MapGrpcService<MetadataGrpcService>();
        return app;
    }
}
