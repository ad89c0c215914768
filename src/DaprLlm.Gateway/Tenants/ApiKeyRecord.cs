using System.Text.Json.Serialization;

namespace DaprLlm.Gateway.Tenants;

/// <summary>
/// A stored API key: only its id (the visible prefix), a per-key salt and the salted hash of the secret part.
/// The secret itself is never stored.
/// </summary>
public sealed record ApiKeyRecord(
    [property: JsonPropertyName("keyId")] string KeyId,
    [property: JsonPropertyName("tenantId")] string TenantId,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("salt")] string Salt,
    [property: JsonPropertyName("hash")] string Hash,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("revokedAt")] DateTimeOffset? RevokedAt = null,
    [property: JsonPropertyName("development")] bool Development = false)
{
    [JsonIgnore]
    public bool IsRevoked => RevokedAt is not null;
}

/// <summary>What the admin API shows of a key (never the salt or hash).</summary>
public sealed record ApiKeyView(
    [property: JsonPropertyName("keyId")] string KeyId,
    [property: JsonPropertyName("tenantId")] string TenantId,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("prefix")] string Prefix,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("revokedAt")] DateTimeOffset? RevokedAt,
    [property: JsonPropertyName("development")] bool Development)
{
    public static ApiKeyView From(ApiKeyRecord r) =>
        new(r.KeyId, r.TenantId, r.Name, ApiKeyFormat.Prefix + r.KeyId, r.CreatedAt, r.RevokedAt, r.Development);
}

/// <summary>A newly created key: the only time the full secret is shown.</summary>
public sealed record CreatedApiKey(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("keyId")] string KeyId,
    [property: JsonPropertyName("tenantId")] string TenantId);
