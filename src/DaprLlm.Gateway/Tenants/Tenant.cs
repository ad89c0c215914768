using System.Text.Json.Serialization;

namespace DaprLlm.Gateway.Tenants;

/// <summary>A customer of the platform: tier, data residency and what it may use. Stored in Dapr state.</summary>
public sealed record Tenant(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("tier")] string Tier,
    [property: JsonPropertyName("homeRegion")] string HomeRegion,
    [property: JsonPropertyName("allowedRegions")] IReadOnlyList<string> AllowedRegions,
    [property: JsonPropertyName("allowedModels")] IReadOnlyList<string> AllowedModels,
    [property: JsonPropertyName("limits")] TenantLimits? Limits,
    [property: JsonPropertyName("streamingPolicy")] string StreamingPolicy,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt)
{
    /// <summary>An empty list allows every model the gateway serves.</summary>
    public bool MayUse(string model) => AllowedModels.Count == 0 || AllowedModels.Contains(model, StringComparer.Ordinal);
}

/// <summary>Per-tenant overrides of the tier's limits; null fields keep the tier's value.</summary>
public sealed record TenantLimits(
    [property: JsonPropertyName("requestsPerMinute")] int? RequestsPerMinute = null,
    [property: JsonPropertyName("tokensPerMinute")] int? TokensPerMinute = null,
    [property: JsonPropertyName("tokensPerDay")] long? TokensPerDay = null,
    [property: JsonPropertyName("maxConcurrentRequests")] int? MaxConcurrentRequests = null);

/// <summary>Tier names and streaming output-moderation policies.</summary>
public static class Tiers
{
    public const string Free = "free";
    public const string Pro = "pro";
    public const string Enterprise = "enterprise";

    public static readonly IReadOnlyList<string> All = [Free, Pro, Enterprise];

    /// <summary>Check the whole output before releasing any of it.</summary>
    public const string PolicyBuffer = "buffer";

    /// <summary>Check a sliding window as tokens flow; stop with content_filter on a block.</summary>
    public const string PolicyWindow = "window";

    /// <summary>Release at once, check afterwards, flag and audit.</summary>
    public const string PolicyAsync = "async";

    public static readonly IReadOnlyList<string> Policies = [PolicyBuffer, PolicyWindow, PolicyAsync];
}
