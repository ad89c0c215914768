namespace DaprLlm.Sidecar.Actors;

/// <summary>Wiring of the Actors building block (placeholder until it is implemented).</summary>
public static class ActorsFeature
{
    public static WebApplicationBuilder AddActors(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapActors(this WebApplication app) => app;
}
