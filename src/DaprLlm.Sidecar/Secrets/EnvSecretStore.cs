using System.Collections;
using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.Secrets;

/// <summary>
/// secretstores.local.env: environment variables of the sidecar process, optionally under a prefix. As in
/// daprd, DAPR_* variables and APP_API_TOKEN are never readable, and a missing variable is an empty value.
/// </summary>
public sealed class EnvSecretStore(string prefix) : ISecretStore
{
    public ValueTask<IReadOnlyDictionary<string, string>?> GetAsync(string name, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var variable = prefix + name;
        var value = IsAllowed(variable) ? Environment.GetEnvironmentVariable(variable) ?? "" : "";
        return ValueTask.FromResult<IReadOnlyDictionary<string, string>?>(new Dictionary<string, string> { [name] = value });
    }

    public ValueTask<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> GetBulkAsync(IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var all = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            var key = (string)entry.Key;
            if ((prefix.Length > 0 && (key.Length <= prefix.Length || !key.StartsWith(prefix, StringComparison.Ordinal))) || !IsAllowed(key))
            {
                continue;
            }

            var name = key[prefix.Length..];
            all[name] = new Dictionary<string, string> { [name] = entry.Value as string ?? "" };
        }

        return ValueTask.FromResult<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>>(all);
    }

    private static bool IsAllowed(string key)
    {
        var upper = key.ToUpperInvariant();
        return upper != "APP_API_TOKEN" && !upper.StartsWith("DAPR_", StringComparison.Ordinal);
    }
}

/// <summary>Builds secretstores.local.env components.</summary>
public sealed class EnvSecretStoreFactory : IComponentFactory
{
    public IReadOnlyCollection<string> Types { get; } = ["secretstores.local.env"];

    public ValueTask<object> CreateAsync(ComponentSpec spec, CancellationToken cancellationToken) =>
        ValueTask.FromResult<object>(new EnvSecretStore(spec.GetOrDefault("prefix", "")));
}
