using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DaprLlm.Sidecar.Resiliency;

/// <summary>Wiring of Resiliency policies (placeholder: no policies until the Resiliency resource is read).</summary>
public static class ResiliencyFeature
{
    public static WebApplicationBuilder AddResiliency(this WebApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<IResiliencyPolicies, NoResiliencyPolicies>();
        return builder;
    }

    public static WebApplication MapResiliency(this WebApplication app) => app;
}
