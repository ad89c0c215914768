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

/// <summary>The limits member of POST /admin/tenants: overrides of the tier's limits, each within a tier limit's range when given.</summary>
public sealed record TenantLimitsRequest(
    [property: JsonPropertyName("requestsPerMinute")] int? RequestsPerMinute,
    [property: JsonPropertyName("tokensPerMinute")] int? TokensPerMinute,
    [property: JsonPropertyName("tokensPerDay")] long? TokensPerDay,
    [property: JsonPropertyName("maxConcurrentRequests")] int? MaxConcurrentRequests)
{
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; init; }

    /// <summary>
    /// The first limit given outside the range a tier's limit may take (QuotaLimits), by its JSON name with that range;
    /// null when all are valid. Larger values would overflow once the tier's burst is added and refuse every request.
    /// </summary>
    public (string Name, long Min, long Max)? FirstOutOfRange() =>
        RequestsPerMinute is < 1 or > 10_000_000 ? ("requestsPerMinute", 1, 10_000_000)
        : TokensPerMinute is < 1 or > 1_000_000_000 ? ("tokensPerMinute", 1, 1_000_000_000)
        : TokensPerDay is < 1 or > 100_000_000_000 ? ("tokensPerDay", 1, 100_000_000_000)
        : MaxConcurrentRequests is < 1 or > 100_000 ? ("maxConcurrentRequests", 1, 100_000)
        : null;

    public TenantLimits ToLimits() => new(RequestsPerMinute, TokensPerMinute, TokensPerDay, MaxConcurrentRequests);
}
