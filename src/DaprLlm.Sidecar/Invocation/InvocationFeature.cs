namespace DaprLlm.Sidecar.Invocation;

/// <summary>Wiring of the Invocation building block (placeholder until it is implemented).</summary>
public static class InvocationFeature
{
    public static WebApplicationBuilder AddInvocation(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapInvocation(this WebApplication app) => app;
}
