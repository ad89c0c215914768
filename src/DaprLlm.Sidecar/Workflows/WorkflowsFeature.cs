namespace DaprLlm.Sidecar.Workflows;

/// <summary>Wiring of the Workflows building block (placeholder until it is implemented).</summary>
public static class WorkflowsFeature
{
    public static WebApplicationBuilder AddWorkflows(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapWorkflows(this WebApplication app) => app;
}
