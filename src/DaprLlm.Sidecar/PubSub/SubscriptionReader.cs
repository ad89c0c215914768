using System.Text.Json;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// Reads subscriptions: the app's answer to GET /dapr/subscribe (v1 <c>route</c>, v2 <c>routes.rules/default</c>)
/// and Subscription resources (dapr.io/v1alpha1 and v2alpha1). JSON names are matched case-insensitively, as Go does.
/// </summary>
public static class SubscriptionReader
{
    /// <summary>Parses the app's /dapr/subscribe JSON array.</summary>
    public static IReadOnlyList<SubscriptionDefinition> ReadProgrammatic(string json)
    {
        var array = JsonNode.Parse(json, new JsonNodeOptions { PropertyNameCaseInsensitive = true }) as JsonArray
            ?? throw new FormatException("GET /dapr/subscribe did not answer a JSON array");
        return array.OfType<JsonObject>().Select(o => Read(o, SubscriptionDefinition.Programmatic, "GET /dapr/subscribe")).ToList();
    }

    /// <summary>Reads a Subscription resource document.</summary>
    public static SubscriptionDefinition ReadDeclarative(ResourceDocument document)
    {
        // Re-parse case-insensitively: YAML keys are written like "pubsubname" or "pubsubName".
        var spec = JsonNode.Parse(document.Spec.ToJsonString(), new JsonNodeOptions { PropertyNameCaseInsensitive = true }) as JsonObject ?? [];
        return Read(spec, SubscriptionDefinition.Declarative, document.Describe());
    }

    private static SubscriptionDefinition Read(JsonObject o, string type, string source)
    {
        var pubsub = String(o["pubsubname"]) ?? throw new FormatException($"{source}: a subscription has no pubsubname");
        var topic = String(o["topic"]) ?? throw new FormatException($"{source}: a subscription has no topic");
        var rules = new List<RouteRule>();
        if (o["routes"] is JsonObject routes)
        {
            if (routes["rules"] is JsonArray ruleArray)
            {
                foreach (var rule in ruleArray.OfType<JsonObject>())
                {
                    var match = String(rule["match"]);
                    var path = String(rule["path"]) ?? throw new FormatException($"{source}: a routing rule of topic '{topic}' has no path");
                    rules.Add(new RouteRule(string.IsNullOrWhiteSpace(match) ? null : MatchExpression.Parse(match), path));
                }
            }

            if (String(routes["default"]) is { Length: > 0 } fallback)
            {
                rules.Add(new RouteRule(null, fallback));
            }
        }

        // v1 "route" is used when there are no v2 rules.
        if (rules.Count == 0 && String(o["route"]) is { Length: > 0 } route)
        {
            rules.Add(new RouteRule(null, route));
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (o["metadata"] is JsonObject meta)
        {
            foreach (var (key, value) in meta)
            {
                metadata[key] = String(value) ?? "";
            }
        }

        var deadLetter = String(o["deadLetterTopic"]);
        return new SubscriptionDefinition(pubsub, topic, rules, metadata, string.IsNullOrEmpty(deadLetter) ? null : deadLetter, type)
        {
            BulkSubscribe = o["bulkSubscribe"] is JsonObject bulk && bool.TryParse(String(bulk["enabled"]), out var enabled) && enabled,
        };
    }

    private static string? String(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => node.ToJsonString(),
    };
}
