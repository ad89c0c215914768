using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// daprd's topic scoping from component metadata: <c>allowedTopics</c>, <c>protectedTopics</c>,
/// <c>publishingScopes</c> and <c>subscriptionScopes</c> ("app1=t1,t2;app2=t3").
/// </summary>
public sealed class TopicScopes
{
    private readonly HashSet<string> _allowed;
    private readonly HashSet<string> _protected;
    private readonly Dictionary<string, HashSet<string>> _publishing;
    private readonly Dictionary<string, HashSet<string>> _subscribing;

    public TopicScopes(ComponentSpec spec)
    {
        _allowed = List(spec.Get("allowedTopics"));
        _protected = List(spec.Get("protectedTopics"));
        _publishing = Scopes(spec.Get("publishingScopes"));
        _subscribing = Scopes(spec.Get("subscriptionScopes"));
    }

    public bool MayPublish(string appId, string topic) => IsAllowed(appId, topic, _publishing);

    public bool MaySubscribe(string appId, string topic) => IsAllowed(appId, topic, _subscribing);

    private bool IsAllowed(string appId, string topic, Dictionary<string, HashSet<string>> scopes)
    {
        if (_allowed.Count > 0 && !_allowed.Contains(topic) && !_protected.Contains(topic))
        {
            return false;
        }

        if (scopes.TryGetValue(appId, out var topics))
        {
            return topics.Contains(topic);
        }

        // A protected topic needs an explicit grant; others are open to apps that have no scope entry.
        return !_protected.Contains(topic);
    }

    private static HashSet<string> List(string? value) =>
        new((value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);

    private static Dictionary<string, HashSet<string>> Scopes(string? value)
    {
        var result = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var entry in (value ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = entry.Split('=', 2, StringSplitOptions.TrimEntries);
            if (!result.TryGetValue(parts[0], out var topics))
            {
                topics = new HashSet<string>(StringComparer.Ordinal);
                result[parts[0]] = topics;
            }

            if (parts.Length == 2)
            {
                topics.UnionWith(List(parts[1]));
            }
        }

        return result;
    }
}
