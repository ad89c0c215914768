namespace DaprLlm.Sidecar.Bindings;

/// <summary>Wiring of the Bindings building block (placeholder until it is implemented).</summary>
public static class BindingsFeature
{
    public static WebApplicationBuilder AddBindings(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapBindings(this WebApplication app) => app;
}
