using System.Collections.Concurrent;

namespace DaprLlm.Sidecar.Metadata;

/// <summary>The attributes apps set with PUT /v1.0/metadata/{key} (or gRPC SetMetadata); kept in memory as daprd does.</summary>
public sealed class ExtendedMetadata
{
    private readonly ConcurrentDictionary<string, string> _values = new(StringComparer.Ordinal);

    public void Set(string key, string value)
    {
        if (key.Length > 0)
        {
            _values[key] = value;
        }
    }

    public IReadOnlyDictionary<string, string> Snapshot() => new Dictionary<string, string>(_values, StringComparer.Ordinal);
}
