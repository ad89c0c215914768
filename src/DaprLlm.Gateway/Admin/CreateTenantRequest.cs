using System.Text.Json.Serialization;
using DaprLlm.Gateway.Tenants;

namespace DaprLlm.Gateway.Admin;

/// <summary>Body of POST /admin/tenants.</summary>
public sealed record CreateTenantRequest(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("tier")] string? Tier,
    [property: JsonPropertyName("homeRegion")] string? HomeRegion,
    [property: JsonPropertyName("allowedRegions")] string[]? AllowedRegions,
    [property: JsonPropertyName("allowedModels")] string[]? AllowedModels,
    [property: JsonPropertyName("limits")] TenantLimits? Limits,
    [property: JsonPropertyName("streamingPolicy")] string? StreamingPolicy);

/// <summary>Body of POST /admin/tenants/{id}/keys.</summary>
public sealed record CreateKeyRequest([property: JsonPropertyName("name")] string? Name);
