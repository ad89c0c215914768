using System.Text.Json;
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
    [property: JsonPropertyName("limits")] TenantLimitsRequest? Limits,
    [property: JsonPropertyName("streamingPolicy")] string? StreamingPolicy)
{
    /// <summary>Members the request does not define: refused, so a misspelt field does not silently keep its default.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; init; }
}

/// <summary>Body of POST /admin/tenants/{id}/keys.</summary>
public sealed record CreateKeyRequest([property: JsonPropertyName("name")] string? Name)
{
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; init; }
}

/// <summary>The limits member of POST /admin/tenants: overrides of the tier's limits, each at least 1 when given.</summary>
public sealed record TenantLimitsRequest(
    [property: JsonPropertyName("requestsPerMinute")] int? RequestsPerMinute,
    [property: JsonPropertyName("tokensPerMinute")] int? TokensPerMinute,
    [property: JsonPropertyName("tokensPerDay")] long? TokensPerDay,
    [property: JsonPropertyName("maxConcurrentRequests")] int? MaxConcurrentRequests)
{
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; init; }

    /// <summary>The first limit given below 1, by its JSON name; null when all are valid.</summary>
    public string? FirstBelowOne() =>
        RequestsPerMinute < 1 ? "requestsPerMinute"
        : TokensPerMinute < 1 ? "tokensPerMinute"
        : TokensPerDay < 1 ? "tokensPerDay"
        : MaxConcurrentRequests < 1 ? "maxConcurrentRequests"
        : null;

    public TenantLimits ToLimits() => new(RequestsPerMinute, TokensPerMinute, TokensPerDay, MaxConcurrentRequests);
}
