namespace DaprLlm.Sidecar.Metadata;

/// <summary>Wiring of the Metadata building block (placeholder until it is implemented).</summary>
public static class MetadataFeature
{
    public static WebApplicationBuilder AddMetadata(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapMetadata(this WebApplication app) => app;
}
