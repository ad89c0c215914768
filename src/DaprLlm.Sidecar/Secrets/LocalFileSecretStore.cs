using System.Text.Json;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Metadata;

namespace DaprLlm.Sidecar.Secrets;

/// <summary>
/// secretstores.local.file: a JSON file read once at start. Nested objects and arrays are flattened with
/// nestedSeparator (default ":"); with multiValued each top-level key is one secret holding its flattened keys.
/// </summary>
public sealed class LocalFileSecretStore : ISecretStore, IComponentCapabilities
{
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _secrets = new(StringComparer.Ordinal);

    private LocalFileSecretStore(bool multiValued) =>
        Capabilities = multiValued ? ["MULTIPLE_KEY_VALUES_PER_SECRET"] : [];

    public IReadOnlyList<string> Capabilities { get; }

    public static LocalFileSecretStore Load(ComponentSpec spec)
    {
        var file = spec.Get("secretsFile") is { Length: > 0 } f ? f : throw new ComponentConfigException(spec, "missing local secrets file in metadata");
        var separator = spec.GetOrDefault("nestedSeparator", ":");
        var multiValued = spec.GetBool("multiValued");
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            root = doc.RootElement.Clone();
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            throw new ComponentConfigException(spec, $"cannot read secrets file '{file}': {e.Message}");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ComponentConfigException(spec, $"secrets file '{file}' must hold a JSON object");
        }

        var store = new LocalFileSecretStore(multiValued);
        if (multiValued)
        {
            foreach (var property in root.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Object)
                {
                    var values = new Dictionary<string, string>(StringComparer.Ordinal);
                    Flatten(property.Value, [], separator, values);
                    store._secrets[property.Name] = values;
                }
                else if (property.Value.ValueKind == JsonValueKind.String)
                {
                    store._secrets[property.Name] = new Dictionary<string, string> { [property.Name] = property.Value.GetString()! };
                }
            }
        }
        else
        {
            var flat = new Dictionary<string, string>(StringComparer.Ordinal);
            Flatten(root, [], separator, flat);
            foreach (var (name, value) in flat)
            {
                store._secrets[name] = new Dictionary<string, string> { [name] = value };
            }
        }

        return store;
    }

    public ValueTask<IReadOnlyDictionary<string, string>?> GetAsync(string name, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_secrets.GetValueOrDefault(name));

    public ValueTask<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> GetBulkAsync(IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>>(_secrets);

    private static void Flatten(JsonElement element, List<string> path, string separator, Dictionary<string, string> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    path.Add(property.Name);
                    Flatten(property.Value, path, separator, into);
                    path.RemoveAt(path.Count - 1);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    path.Add((i++).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    Flatten(item, path, separator, into);
                    path.RemoveAt(path.Count - 1);
                }

                break;
            default:
                into[string.Join(separator, path)] = element.ValueKind switch
                {
                    JsonValueKind.String => element.GetString()!,
                    JsonValueKind.Null => "",
                    _ => element.GetRawText(),
                };
                break;
        }
    }
}

/// <summary>Builds secretstores.local.file components.</summary>
public sealed class LocalFileSecretStoreFactory : IComponentFactory
{
    public IReadOnlyCollection<string> Types { get; } = ["secretstores.local.file"];

    public ValueTask<object> CreateAsync(ComponentSpec spec, CancellationToken cancellationToken) =>
        ValueTask.FromResult<object>(LocalFileSecretStore.Load(spec));
}
