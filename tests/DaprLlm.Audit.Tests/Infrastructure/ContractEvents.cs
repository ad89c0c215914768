using System.Text.Json;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts.Events;

namespace DaprLlm.Audit.Tests.Infrastructure;

/// <summary>
/// Events built from the real contract records and serialized as the publishing apps' Dapr clients do (web JSON,
/// camelCase), so a test breaks when audit reads a field the contracts do not carry.
/// </summary>
public static class ContractEvents
{
    public static readonly DateTimeOffset At = DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Safety's decision on one check; the scores name the category, as safety reports those that routed.</summary>
    public static ModerationDecidedV1 Decision(string tenant, string? category, string requestId, string action = "block", string direction = "input") =>
        new(requestId, tenant, null, direction, action, category,
            category is null ? new Dictionary<string, double>() : new Dictionary<string, double> { [category] = 0.9 },
            [], [], "p1", 1.5, action == "review" ? "rv-" + requestId : null, false, At);

    /// <summary>The gateway's record of a request refused (or filtered) after a decision.</summary>
    public static RequestCompletedV1 Refused(string tenant, string requestId, string outcome = RequestCompletedV1.Outcomes.RefusedInput) =>
        new(requestId, "daprllm-demo", outcome, null, 0, 0, "block", null, null, At, tenant);

    /// <summary>Safety's review item created by a review decision.</summary>
    public static ReviewCreatedV1 ReviewCreated(string tenant, string requestId) =>
        new("rv-" + requestId, tenant, requestId, "input", "critical", "standard", 1, At.AddMinutes(15), "p1", At);

    /// <summary>The entry ingestion stores for <paramref name="payload"/> (no data subject: the content is the canonical event data).</summary>
    public static AuditEntry Entry(string topic, string tenant, object payload, string region = "eu") =>
        new($"e-{Guid.NewGuid():N}", topic, "test", tenant, region, null, 0, CanonicalJson.Canonicalize(JsonSerializer.Serialize(payload, payload.GetType(), JsonSerializerOptions.Web)), null);
}
