namespace DaprLlm.Sidecar.Resiliency;

/// <summary>Wiring of Resiliency policies: the app's Resiliency resources as Polly pipelines per target.</summary>
public static class ResiliencyFeature
{
    public static WebApplicationBuilder AddResiliency(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ResiliencyPolicies>();
        builder.Services.AddSingleton<IResiliencyPolicies>(sp => sp.GetRequiredService<ResiliencyPolicies>());
        builder.Services.AddHostedService<ResiliencyStartupCheck>();
        return builder;
    }

    public static WebApplication MapResiliency(this WebApplication app) => app;
}
