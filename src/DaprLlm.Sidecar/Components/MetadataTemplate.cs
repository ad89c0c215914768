namespace DaprLlm.Sidecar.Components;

/// <summary>
/// The template tags daprd expands in every component metadata value before a component sees it: each
/// <c>{uuid}</c> becomes a fresh random UUID (so <c>consumerID: "{uuid}"</c> gives every sidecar its own consumer
/// group: a broadcast), <c>{podName}</c> the POD_NAME (an error when unset, as in daprd), <c>{namespace}</c>
/// "namespace.appId" and <c>{appID}</c> the app id. The namespace is NAMESPACE, else "default", as daprd reads it.
/// </summary>
public sealed class MetadataTemplate(string appId, string? @namespace, string? podName)
{
    private const string Uuid = "{uuid}";
    private const string PodName = "{podName}";
    private const string Namespace = "{namespace}";
    private const string AppId = "{appID}";

    /// <summary>The tags as the environment of this process sets them.</summary>
    public static MetadataTemplate FromEnvironment(string appId) =>
        new(appId, Environment.GetEnvironmentVariable("NAMESPACE") ?? "default", Environment.GetEnvironmentVariable("POD_NAME"));

    /// <summary>The value with its tags replaced; <paramref name="component"/> and <paramref name="name"/> only name errors.</summary>
    public string Expand(string component, string name, string value)
    {
        if (!value.Contains('{', StringComparison.Ordinal))
        {
            return value;
        }

        // One UUID per occurrence, like daprd's replace-first loop.
        while (value.Contains(Uuid, StringComparison.Ordinal))
        {
            var at = value.IndexOf(Uuid, StringComparison.Ordinal);
            value = string.Concat(value.AsSpan(0, at), Guid.NewGuid().ToString(), value.AsSpan(at + Uuid.Length));
        }

        if (value.Contains(PodName, StringComparison.Ordinal))
        {
            if (string.IsNullOrEmpty(podName))
            {
                throw new ComponentConfigException($"component '{component}': metadata '{name}' refers to {PodName} but POD_NAME is not set");
            }

            value = value.Replace(PodName, podName, StringComparison.Ordinal);
        }

        return value
            .Replace(Namespace, $"{@namespace}.{appId}", StringComparison.Ordinal)
            .Replace(AppId, appId, StringComparison.Ordinal);
    }
}
