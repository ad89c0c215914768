namespace DaprLlm.Sidecar.PubSub;

/// <summary>Wiring of the PubSub building block (placeholder until it is implemented).</summary>
public static class PubSubFeature
{
    public static WebApplicationBuilder AddPubSub(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapPubSub(this WebApplication app) => app;
}
