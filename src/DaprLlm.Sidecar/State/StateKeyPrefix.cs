using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.State;

/// <summary>
/// daprd's key layout: "&lt;prefix&gt;||&lt;key&gt;" where the component's keyPrefix metadata picks the prefix:
/// appid (default), name (the store name), none, or any other literal value.
/// </summary>
public sealed class StateKeyPrefix
{
    public const string Separator = "||";

    private readonly string? _prefix;

    private StateKeyPrefix(string? prefix) => _prefix = prefix;

    /// <summary>Reads keyPrefix from the component (case-insensitive strategy names, as daprd).</summary>
    public static StateKeyPrefix For(ComponentSpec spec, string appId)
    {
        var strategy = (spec.Get("keyPrefix") is { Length: > 0 } v ? v : "appid").ToLowerInvariant();
        if (strategy.Contains(Separator, StringComparison.Ordinal))
        {
            throw new ComponentConfigException(spec, $"input key/keyPrefix '{strategy}' can't contain '{Separator}'");
        }

        return strategy switch
        {
            "none" => new StateKeyPrefix(null),
            "name" => new StateKeyPrefix(spec.Name),
            "appid" or "namespace" => new StateKeyPrefix(string.IsNullOrEmpty(appId) ? null : NamespacedAppId(strategy, appId)),
            _ => new StateKeyPrefix(strategy),
        };
    }

    /// <summary>The full store key; throws <see cref="ArgumentException"/> for keys containing "||".</summary>
    public string Apply(string key)
    {
        if (key.Contains(Separator, StringComparison.Ordinal))
        {
            throw new ArgumentException($"input key/keyPrefix '{key}' can't contain '{Separator}'");
        }

        return _prefix is null ? key : _prefix + Separator + key;
    }

    /// <summary>The key the app used, as daprd's GetOriginalStateKey (the part after the first "||").</summary>
    public static string Original(string storeKey)
    {
        var parts = storeKey.Split(Separator, 3);
        return parts.Length <= 1 ? storeKey : parts[1];
    }

    private static string NamespacedAppId(string strategy, string appId) =>
        strategy == "namespace" && Environment.GetEnvironmentVariable("NAMESPACE") is { Length: > 0 } ns ? $"{ns}.{appId}" : appId;
}
