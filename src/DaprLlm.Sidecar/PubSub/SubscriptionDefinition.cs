using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>One routing rule: a CEL-like match (null matches everything) and the app path.</summary>
public sealed record RouteRule(MatchExpression? Match, string Path);

/// <summary>A subscription of this app to a topic, from GET /dapr/subscribe or a Subscription resource.</summary>
public sealed record SubscriptionDefinition(
    string PubSubName,
    string Topic,
    IReadOnlyList<RouteRule> Rules,
    IReadOnlyDictionary<string, string> Metadata,
    string? DeadLetterTopic,
    string Type)
{
    public const string Programmatic = "PROGRAMMATIC";
    public const string Declarative = "DECLARATIVE";

    /// <summary>True when the subscription enables bulkSubscribe, which this sidecar does not implement (it warns at subscribe time).</summary>
    public bool BulkSubscribe { get; init; }

    /// <summary>True when the subscription asks for raw (non-CloudEvent) payloads.</summary>
    public bool RawPayload =>
        Metadata.FirstOrDefault(kv => kv.Key.Equals("rawPayload", StringComparison.OrdinalIgnoreCase)).Value is { } v &&
        bool.TryParse(v, out var raw) && raw;

    /// <summary>The first rule that matches the event, or null when none does (daprd then drops the event).</summary>
    public RouteRule? FindRoute(JsonObject cloudEvent) =>
        Rules.FirstOrDefault(r => r.Match is null || r.Match.Matches(cloudEvent));

    /// <summary>
    /// <see cref="FindRoute(JsonObject)"/> for an envelope's bytes: parsed into a tree only when a rule with a match
    /// expression comes before the first catch-all rule (the usual single route needs no tree).
    /// </summary>
    public RouteRule? FindRoute(ReadOnlyMemory<byte> envelope) => Rules.Count == 0 ? null
        : Rules[0].Match is null ? Rules[0]
        : FindRoute(CloudEvents.Parse(envelope.Span));

    /// <summary>The shape daprd shows in GET /v1.0/metadata.</summary>
    public JsonObject ToMetadataJson()
    {
        var metadata = new JsonObject();
        foreach (var (key, value) in Metadata)
        {
            metadata[key] = value;
        }

        var rules = new JsonArray();
        foreach (var rule in Rules)
        {
            rules.Add(new JsonObject { ["match"] = rule.Match?.Text ?? "", ["path"] = rule.Path });
        }

        return new JsonObject
        {
            ["pubsubname"] = PubSubName,
            ["topic"] = Topic,
            ["metadata"] = metadata,
            ["rules"] = rules,
            ["deadLetterTopic"] = DeadLetterTopic ?? "",
            ["type"] = Type,
        };
    }
}
