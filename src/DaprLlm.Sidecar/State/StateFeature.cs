namespace DaprLlm.Sidecar.State;

/// <summary>Wiring of the State building block (placeholder until it is implemented).</summary>
public static class StateFeature
{
    public static WebApplicationBuilder AddState(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapState(this WebApplication app) => app;
}
