using System.Text.Json.Serialization;

namespace DaprLlm.Safety.Review;

/// <summary>
/// What the client webhook binding receives: the fields of the gateway's public review status and nothing more. The one
/// binding receives every tenant's decisions, so reviewer identities, labels, notes and tenant ids stay inside.
/// </summary>
public sealed record ReviewWebhookBody(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("request_id")] string RequestId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("decision")] string? Decision,
    [property: JsonPropertyName("decided_at")] DateTimeOffset? DecidedAt);
