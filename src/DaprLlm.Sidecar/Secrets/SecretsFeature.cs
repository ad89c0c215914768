namespace DaprLlm.Sidecar.Secrets;

/// <summary>Wiring of the Secrets building block (placeholder until it is implemented).</summary>
public static class SecretsFeature
{
    public static WebApplicationBuilder AddSecrets(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapSecrets(this WebApplication app) => app;
}
