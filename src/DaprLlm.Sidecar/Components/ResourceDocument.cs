using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.Components;

/// <summary>
/// One YAML document from a resources path (Component, Configuration, Resiliency, Subscription...).
/// The spec is converted to JSON nodes; every YAML scalar becomes a JSON string (as daprd reads metadata).
/// </summary>
public sealed record ResourceDocument(
    string ApiVersion,
    string Kind,
    string Name,
    JsonObject Spec,
    IReadOnlyList<string> Scopes,
    JsonObject? Auth,
    string SourceFile)
{
    /// <summary>True when the document applies to <paramref name="appId"/> (no scopes means every app).</summary>
    public bool AppliesTo(string appId) => Scopes.Count == 0 || Scopes.Contains(appId, StringComparer.Ordinal);

    public string Describe() => $"{Kind} '{Name}' in {SourceFile}";
}

/// <summary>A Dapr component (kind: Component) after its metadata has been read and its secrets resolved.</summary>
public sealed record ComponentSpec(
    string Name,
    string Type,
    string Version,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<string> Scopes,
    string SourceFile,
    bool IgnoreErrors)
{
    /// <summary>"state", "pubsub", "secretstores", "bindings"...: the part of the type before the first dot.</summary>
    public string Category => Type.Split('.', 2)[0];

    public string? Get(string key) =>
        Metadata.FirstOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

    public string GetOrDefault(string key, string fallback) => Get(key) is { Length: > 0 } v ? v : fallback;

    public bool GetBool(string key, bool fallback = false) =>
        Get(key) is { Length: > 0 } v ? bool.TryParse(v, out var b) ? b : throw Invalid(key, v, "a boolean") : fallback;

    public int GetInt(string key, int fallback) =>
        Get(key) is { Length: > 0 } v ? int.TryParse(v, out var i) ? i : throw Invalid(key, v, "an integer") : fallback;

    public TimeSpan GetDuration(string key, TimeSpan fallback) =>
        Get(key) is { Length: > 0 } v ? DaprDuration.TryParse(v, out var d) ? d : throw Invalid(key, v, "a duration") : fallback;

    public string Require(string key) =>
        Get(key) is { Length: > 0 } v ? v : throw new ComponentConfigException(this, $"metadata '{key}' is required");

    private ComponentConfigException Invalid(string key, string value, string expected) =>
        new(this, $"metadata '{key}' has value '{value}', expected {expected}");
}

/// <summary>A component or resource file that cannot be used; the sidecar stops at start with this message.</summary>
public sealed class ComponentConfigException : Exception
{
    public ComponentConfigException(string message)
        : base(message)
    {
    }

    public ComponentConfigException(ComponentSpec component, string problem)
        : base($"component '{component.Name}' ({component.Type}) in {component.SourceFile}: {problem}")
    {
    }

    public ComponentConfigException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ComponentConfigException()
    {
    }
}
