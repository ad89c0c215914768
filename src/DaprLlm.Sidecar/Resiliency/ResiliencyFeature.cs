namespace DaprLlm.Sidecar.Resiliency;

/// <summary>Wiring of the Resiliency building block (placeholder until it is implemented).</summary>
public static class ResiliencyFeature
{
    public static WebApplicationBuilder AddResiliency(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapResiliency(this WebApplication app) => app;
}
