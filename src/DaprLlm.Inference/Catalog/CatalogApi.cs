using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Generation;
using DaprLlm.Inference.Telemetry;
using Microsoft.Extensions.Options;

namespace DaprLlm.Inference.Catalog;

/// <summary>Catalog wiring (options validated at start, warm loading, readiness) and GET v1/models.</summary>
public static class CatalogApi
{
    public static WebApplicationBuilder AddModelCatalog(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.Section)
            // Residency: a model limited to other regions is not deployed on this replica at all (not listed, loaded or
            // served), so no route, fallback or direct call can run it outside its regions.
            .PostConfigure(o => o.RemoveModelsOutsideRegion())
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<InferenceOptions>, InferenceOptionsValidator>();
        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddSingleton<ModelLoader>();
        builder.Services.AddSingleton<Remote.ApiKeyResolver>();
        builder.Services.AddDaprClient();
        builder.Services.AddSingleton<ModelRegistry>();
        builder.Services.AddHostedService<WarmModelLoader>();
        builder.Services.AddHealthChecks().AddCheck<ModelsHealthCheck>("models");
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(InferenceMetrics.MeterName));
        return builder;
    }

    public static WebApplication MapCatalogApi(this WebApplication app)
    {
        app.MapGet("/" + ServiceMethods.Models, ListModels);
        return app;
    }

    private static IResult ListModels(ModelRegistry registry)
    {
        var options = registry.Options;
        var models = options.Models.Select(kv =>
        {
            var loaded = registry.IfLoaded(kv.Key);
            return new ModelDescriptor(kv.Key, kv.Value.Kind, kv.Value.Tier, kv.Value.Regions,
                loaded?.ContextLength ?? kv.Value.ContextLength, kv.Value.Provider, loaded?.ExecutionProvider, options.Region,
                registry.Status(kv.Key));
        }).ToList();
        return TypedResults.Json(new ModelList(models), InferenceJson.Default.ModelList);
    }
}
