using System.Globalization;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.Actors;

/// <summary>Settings of one hosted actor type, after entitiesConfig overrides were applied.</summary>
public sealed record ActorTypeSettings(TimeSpan IdleTimeout, TimeSpan DrainOngoingCallTimeout, bool Reentrancy, int MaxStackDepth);

/// <summary>The app's answer to GET /dapr/config, with daprd's defaults for what it leaves out.</summary>
public sealed class ActorRuntimeConfig
{
    public static readonly ActorRuntimeConfig None = new();

    public IReadOnlyList<string> Entities { get; private init; } = [];

    public TimeSpan IdleTimeout { get; private init; } = TimeSpan.FromMinutes(60);

    public TimeSpan ScanInterval { get; private init; } = TimeSpan.FromSeconds(30);

    public TimeSpan DrainOngoingCallTimeout { get; private init; } = TimeSpan.FromSeconds(60);

    public bool DrainRebalancedActors { get; private init; } = true;

    public bool Reentrancy { get; private init; }

    public int MaxStackDepth { get; private init; } = 32;

    private Dictionary<string, ActorTypeSettings> PerType { get; init; } = new(StringComparer.Ordinal);

    public bool Hosts(string actorType) => Entities.Contains(actorType, StringComparer.Ordinal);

    public ActorTypeSettings For(string actorType) =>
        PerType.TryGetValue(actorType, out var s) ? s : new ActorTypeSettings(IdleTimeout, DrainOngoingCallTimeout, Reentrancy, MaxStackDepth);

    /// <summary>Reads the JSON the SDKs send; unknown or malformed fields keep daprd's defaults.</summary>
    public static ActorRuntimeConfig Parse(JsonNode? root)
    {
        if (root is not JsonObject obj)
        {
            return None;
        }

        var entities = Strings(obj["entities"]);
        var (reentrancy, depth) = ReadReentrancy(obj["reentrancy"], false, 32);
        var config = new ActorRuntimeConfig
        {
            Entities = entities,
            IdleTimeout = Duration(obj["actorIdleTimeout"], TimeSpan.FromMinutes(60)),
            ScanInterval = Duration(obj["actorScanInterval"], TimeSpan.FromSeconds(30)),
            DrainOngoingCallTimeout = Duration(obj["drainOngoingCallTimeout"], TimeSpan.FromSeconds(60)),
            DrainRebalancedActors = Bool(obj["drainRebalancedActors"], true),
            Reentrancy = reentrancy,
            MaxStackDepth = depth,
        };

        if (obj["entitiesConfig"] is JsonArray perType)
        {
            foreach (var item in perType.OfType<JsonObject>())
            {
                var (r, d) = ReadReentrancy(item["reentrancy"], config.Reentrancy, config.MaxStackDepth);
                var settings = new ActorTypeSettings(
                    Duration(item["actorIdleTimeout"], config.IdleTimeout),
                    Duration(item["drainOngoingCallTimeout"], config.DrainOngoingCallTimeout),
                    r,
                    d);
                foreach (var type in Strings(item["entities"]))
                {
                    config.PerType[type] = settings;
                }
            }
        }

        return config;
    }

    private static (bool Enabled, int Depth) ReadReentrancy(JsonNode? node, bool enabled, int depth)
    {
        if (node is not JsonObject r)
        {
            return (enabled, depth);
        }

        var d = r["maxStackDepth"] is JsonValue v && int.TryParse(v.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) && parsed > 0
            ? parsed
            : depth;
        return (Bool(r["enabled"], enabled), d);
    }

    private static List<string> Strings(JsonNode? node) =>
        node is JsonArray arr ? arr.Select(e => e?.ToString()).Where(s => !string.IsNullOrEmpty(s)).Select(s => s!).ToList() : [];

    private static bool Bool(JsonNode? node, bool fallback) =>
        node is JsonValue v && bool.TryParse(v.ToString(), out var b) ? b : fallback;

    private static TimeSpan Duration(JsonNode? node, TimeSpan fallback)
    {
        var text = node?.ToString();
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (DaprDuration.TryParse(text, out var d))
        {
            return d;
        }

        // Some SDKs send .NET's "hh:mm:ss" form.
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var ts) ? ts : fallback;
    }
}
