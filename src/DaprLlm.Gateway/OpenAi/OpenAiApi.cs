using DaprLlm.Gateway.Configuration;
using DaprLlm.Gateway.Audit;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Models;
using DaprLlm.Gateway.Moderations;
using DaprLlm.Gateway.Review;
using DaprLlm.Gateway.Embeddings;
using DaprLlm.Gateway.Completions;
using DaprLlm.Gateway.Routing;
using DaprLlm.Gateway.Upstream;
using DaprLlm.Gateway.Versioning;
using DaprLlm.Outbox;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.OpenAi;

/// <summary>The OpenAI-compatible API, mapped once per configured version (/v1, /v2) through the same handlers.</summary>
public static class OpenAiApi
{
    public static WebApplicationBuilder AddOpenAiApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatOptions>().BindSection(ChatOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ApiVersionOptions>().BindSection(ApiVersionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RoutingOptions>().BindSection(RoutingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RoutingOptions>, FallbackValidation>();
        builder.Services.AddSingleton<IUpstreamChannels, DaprUpstreamChannels>();
        builder.Services.AddSingleton<SafetyClient>();
        builder.Services.AddSingleton<InferenceClient>();
        builder.Services.AddSingleton<InferenceRouter>();
        builder.Services.AddSingleton<ModelCircuitBreaker>();
        builder.Services.AddSingleton<GenerationPipeline>();
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<RequestIdFilter>();
        builder.Services.AddOptions<Caching.CacheOptions>().BindSection(Caching.CacheOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Caching.ExactCache>();
        builder.Services.AddOptions<Caching.SemanticCacheOptions>().BindSection(Caching.SemanticCacheOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Caching.SemanticCache>();
        builder.Services.AddOptions<AuditOptions>().BindSection(AuditOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<Backpressure.AdmissionOptions>().BindSection(Backpressure.AdmissionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Backpressure.AdmissionGates>();
        builder.AddDurableOutbox(Contracts.AppIds.Gateway, Contracts.DaprComponents.PubSub);
        builder.Services.AddSingleton<AuditPublisher>();
        builder.Services.AddSingleton<RefusalAudit>();
        builder.Services.AddSingleton<RequestAudit>();
        builder.Services.AddSingleton<EmbeddingDimensions>();
        return builder;
    }

    public static WebApplication MapOpenAiApi(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ApiVersionOptions>>().Value;
        var time = app.Services.GetRequiredService<TimeProvider>();
        foreach (var (version, policy) in options.Versions)
        {
            if (policy.Retired)
            {
                app.MapRetiredVersion(version, policy, options.Newest);
                continue;
            }

            var api = app.MapGroup($"/{version}")
                .AddEndpointFilter<RequestIdFilter>()
                .AddEndpointFilter(new DeprecationFilter(policy, time))
                .AddEndpointFilter<ApiKeyFilter>()
                .WithGroupName(version);
            api.MapChatCompletions();
            api.MapCompletions();
            api.MapEmbeddings();
            api.MapModerations();
            api.MapReviewStatus();
            api.MapModels();
        }

        return app;
    }
}
