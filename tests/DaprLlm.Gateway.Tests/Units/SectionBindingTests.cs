using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Quotas;
using DaprLlm.Gateway.Routing;
using DaprLlm.Gateway.Tenants;
using DaprLlm.Gateway.OpenAi;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>
/// Options bound through the gateway's own wiring (AddOpenAiApi, AddTenants, AddQuotas, as Program calls them): a
/// configured list replaces the default list; defaults apply only when the list's section is absent.
/// </summary>
public sealed class SectionBindingTests
{
    [Fact]
    public void A_configured_model_list_replaces_the_default_instead_of_appending_to_it()
    {
        using var app = Build(new() { ["Chat:Models:0"] = "daprllm-large", ["Chat:EmbeddingModels:0"] = "my-embedder" });
        var chat = app.Services.GetRequiredService<IOptions<ChatOptions>>().Value;
        Assert.Equal(["daprllm-large"], chat.Models);
        Assert.Equal(["my-embedder"], chat.EmbeddingModels);
    }

    [Fact]
    public void Default_lists_apply_when_their_section_is_absent()
    {
        using var app = Build([]);
        Assert.Equal(["daprllm-demo"], app.Services.GetRequiredService<IOptions<ChatOptions>>().Value.Models);
        Assert.Equal(["eu", "us"], app.Services.GetRequiredService<IOptions<RoutingOptions>>().Value.InferenceByRegion.Keys.Order());
        Assert.Equal(["eu", "us"], app.Services.GetRequiredService<IOptions<TenantOptions>>().Value.Development.AllowedRegions);
    }

    [Fact]
    public void Region_maps_and_nested_lists_replace_their_defaults_too()
    {
        using var app = Build(new()
        {
            ["Routing:InferenceByRegion:eu"] = "inference-eu",
            ["Tenants:Regions:0"] = "eu",
            ["Tenants:Development:AllowedRegions:0"] = "eu",
        });

        // A leftover default "us" -> "inference" would send a tenant's requests to an app this deployment does not run.
        Assert.Equal(new Dictionary<string, string> { ["eu"] = "inference-eu" }, app.Services.GetRequiredService<IOptions<RoutingOptions>>().Value.InferenceByRegion);
        var tenants = app.Services.GetRequiredService<IOptions<TenantOptions>>().Value;
        Assert.Equal(["eu"], tenants.Regions);
        Assert.Equal(["eu"], tenants.Development.AllowedRegions);
        Assert.Equal("eu", tenants.Development.HomeRegion);
    }

    [Fact]
    public void Quota_tiers_still_merge_field_by_field()
    {
        using var app = Build(new() { ["Quotas:Tiers:enterprise:RequestsPerMinute"] = "5" });
        var tiers = app.Services.GetRequiredService<IOptions<QuotaOptions>>().Value.Tiers;
        Assert.Equal(5, tiers[Tiers.Enterprise].RequestsPerMinute);
        Assert.Equal(2_000_000, tiers[Tiers.Enterprise].TokensPerMinute);
        Assert.Equal(20, tiers[Tiers.Free].RequestsPerMinute);
    }

    private static WebApplication Build(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddTenants();
        builder.AddQuotas();
        builder.AddOpenAiApi();
        return builder.Build();
    }
}
