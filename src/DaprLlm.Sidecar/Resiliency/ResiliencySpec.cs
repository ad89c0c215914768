using System.Globalization;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.Resiliency;

/// <summary>A named retry policy (spec.policies.retries.NAME).</summary>
public sealed record RetryPolicySpec(string Name, bool Exponential, TimeSpan Duration, TimeSpan MaxInterval, int MaxRetries, StatusCodeSet? HttpStatusCodes);

/// <summary>A named circuit breaker (spec.policies.circuitBreakers.NAME).</summary>
public sealed record CircuitBreakerSpec(string Name, int MaxRequests, TimeSpan Interval, TimeSpan Timeout, TripExpression Trip);

/// <summary>Policy names a target refers to (spec.targets.*).</summary>
public sealed record TargetPolicyNames(string? Timeout, string? Retry, string? CircuitBreaker);

/// <summary>
/// Every Resiliency resource of this app merged into one set of named policies and targets, validated the
/// way daprd validates them: unknown policy names, bad durations and bad trip expressions are errors that
/// name the file.
/// </summary>
public sealed class ResiliencySpec
{
    public Dictionary<string, TimeSpan> Timeouts { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, RetryPolicySpec> Retries { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, CircuitBreakerSpec> CircuitBreakers { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, TargetPolicyNames> Apps { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, TargetPolicyNames> Actors { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, TargetPolicyNames> ComponentsOutbound { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, TargetPolicyNames> ComponentsInbound { get; } = new(StringComparer.Ordinal);

    // Where each target was declared, so a validation error can name the file.
    private readonly Dictionary<string, string> _sources = new(StringComparer.Ordinal);

    public static ResiliencySpec Parse(IEnumerable<ResourceDocument> documents)
    {
        var spec = new ResiliencySpec();
        foreach (var doc in documents)
        {
            try
            {
                spec.Add(doc);
            }
            catch (FormatException e)
            {
                throw new ComponentConfigException($"Resiliency '{doc.Name}' in {doc.SourceFile}: {e.Message}", e);
            }
        }

        spec.Validate();
        return spec;
    }

    private void Add(ResourceDocument doc)
    {
        if (doc.ApiVersion != "dapr.io/v1alpha1")
        {
            throw new FormatException($"apiVersion must be dapr.io/v1alpha1, not '{doc.ApiVersion}'");
        }

        var policies = Object(doc.Spec, "policies", "spec");
        var timeouts = Object(policies, "timeouts", "spec.policies");
        foreach (var (name, value) in timeouts)
        {
            Timeouts[name] = Duration(value, $"spec.policies.timeouts.{name}", null);
        }

        foreach (var (name, node) in Object(policies, "retries", "spec.policies"))
        {
            Retries[name] = ParseRetry(name, node as JsonObject ?? throw new FormatException($"spec.policies.retries.{name} must be a mapping"));
        }

        foreach (var (name, node) in Object(policies, "circuitBreakers", "spec.policies"))
        {
            CircuitBreakers[name] = ParseBreaker(name, node as JsonObject ?? throw new FormatException($"spec.policies.circuitBreakers.{name} must be a mapping"));
        }

        var targets = Object(doc.Spec, "targets", "spec");
        foreach (var (app, node) in Object(targets, "apps", "spec.targets"))
        {
            Apps[app] = Names(node, $"spec.targets.apps.{app}");
            _sources[$"apps/{app}"] = doc.Describe();
        }

        foreach (var (actor, node) in Object(targets, "actors", "spec.targets"))
        {
            Actors[actor] = Names(node, $"spec.targets.actors.{actor}");
            _sources[$"actors/{actor}"] = doc.Describe();
        }

        foreach (var (component, node) in Object(targets, "components", "spec.targets"))
        {
            var directions = node as JsonObject ?? throw new FormatException($"spec.targets.components.{component} must be a mapping");
            foreach (var (direction, names) in directions)
            {
                var where = $"spec.targets.components.{component}.{direction}";
                switch (direction)
                {
                    case "outbound":
                        ComponentsOutbound[component] = Names(names, where);
                        _sources[$"components (outbound)/{component}"] = doc.Describe();
                        break;
                    case "inbound":
                        ComponentsInbound[component] = Names(names, where);
                        _sources[$"components (inbound)/{component}"] = doc.Describe();
                        break;
                    default:
                        throw new FormatException($"{where}: unknown direction (expected inbound or outbound)");
                }
            }
        }
    }

    // Targets may refer to policies of another Resiliency document, so this runs after all are merged.
    private void Validate()
    {
        foreach (var (kind, targets) in new[]
                 {
                     ("apps", Apps), ("actors", Actors), ("components (outbound)", ComponentsOutbound), ("components (inbound)", ComponentsInbound),
                 })
        {
            foreach (var (target, names) in targets)
            {
                Check(names.Timeout, Timeouts.ContainsKey, "timeout");
                Check(names.Retry, Retries.ContainsKey, "retry");
                Check(names.CircuitBreaker, CircuitBreakers.ContainsKey, "circuit breaker");

                void Check(string? name, Func<string, bool> exists, string what)
                {
                    if (name is not null && !exists(name))
                    {
                        throw new ComponentConfigException(
                            $"{_sources[$"{kind}/{target}"]}: target {kind} '{target}' refers to {what} policy '{name}', which is not defined in spec.policies");
                    }
                }
            }
        }
    }

    private static RetryPolicySpec ParseRetry(string name, JsonObject node)
    {
        var where = $"spec.policies.retries.{name}";
        var policy = Text(node, "policy") ?? "constant";
        var exponential = policy switch
        {
            "constant" => false,
            "exponential" => true,
            _ => throw new FormatException($"{where}.policy: '{policy}' is not constant or exponential"),
        };
        var maxRetriesText = Text(node, "maxRetries");
        var maxRetries = -1;
        if (maxRetriesText is not null && (!int.TryParse(maxRetriesText, NumberStyles.Integer, CultureInfo.InvariantCulture, out maxRetries) || maxRetries < -1))
        {
            throw new FormatException($"{where}.maxRetries: '{maxRetriesText}' is not an integer >= -1");
        }

        StatusCodeSet? codes = null;
        if (node["matching"] is JsonObject matching && Text(matching, "httpStatusCodes") is { Length: > 0 } httpCodes)
        {
            codes = StatusCodeSet.Parse(httpCodes, $"{where}.matching.httpStatusCodes");
        }

        return new RetryPolicySpec(name, exponential,
            Duration(Text(node, "duration"), $"{where}.duration", TimeSpan.FromSeconds(5)),
            Duration(Text(node, "maxInterval"), $"{where}.maxInterval", TimeSpan.FromSeconds(60)),
            maxRetries, codes);
    }

    private static CircuitBreakerSpec ParseBreaker(string name, JsonObject node)
    {
        var where = $"spec.policies.circuitBreakers.{name}";
        var maxRequestsText = Text(node, "maxRequests");
        var maxRequests = 1;
        if (maxRequestsText is not null && (!int.TryParse(maxRequestsText, NumberStyles.Integer, CultureInfo.InvariantCulture, out maxRequests) || maxRequests < 0))
        {
            throw new FormatException($"{where}.maxRequests: '{maxRequestsText}' is not a non-negative integer");
        }

        var trip = Text(node, "trip") is { Length: > 0 } tripText
            ? TripExpression.Parse(tripText, $"{where}.trip")
            : TripExpression.Parse("consecutiveFailures > 5", where);
        return new CircuitBreakerSpec(name, maxRequests == 0 ? 1 : maxRequests,
            Duration(Text(node, "interval"), $"{where}.interval", TimeSpan.Zero),
            Duration(Text(node, "timeout"), $"{where}.timeout", TimeSpan.FromSeconds(60)),
            trip);
    }

    private static TargetPolicyNames Names(JsonNode? node, string where)
    {
        var names = node as JsonObject ?? throw new FormatException($"{where} must be a mapping");
        return new TargetPolicyNames(Text(names, "timeout"), Text(names, "retry"), Text(names, "circuitBreaker"));
    }

    private static JsonObject Object(JsonObject parent, string key, string where) =>
        parent[key] switch
        {
            null => [],
            JsonObject o => o,
            JsonValue v when v.TryGetValue<string>(out var s) && string.IsNullOrEmpty(s) => [],
            _ => throw new FormatException($"{where}.{key} must be a mapping"),
        };

    private static string? Text(JsonObject node, string key) =>
        node[key] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => string.IsNullOrEmpty(s) ? null : s,
            _ => throw new FormatException($"'{key}' must be a scalar"),
        };

    private static TimeSpan Duration(JsonNode? node, string where, TimeSpan? fallback)
    {
        var text = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        return Duration(text, where, fallback);
    }

    private static TimeSpan Duration(string? text, string where, TimeSpan? fallback)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback ?? throw new FormatException($"{where}: a duration is required");
        }

        return DaprDuration.TryParse(text, out var value) && value >= TimeSpan.Zero
            ? value
            : throw new FormatException($"{where}: '{text}' is not a duration (e.g. 500ms, 5s, 1m30s)");
    }
}
