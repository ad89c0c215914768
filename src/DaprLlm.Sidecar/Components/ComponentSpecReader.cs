using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.Components;

/// <summary>Turns a Component document into a <see cref="ComponentSpec"/>, resolving secretKeyRef values.</summary>
public static class ComponentSpecReader
{
    /// <summary>
    /// Reads a component whose metadata may reference secrets through <paramref name="resolveSecret"/>; values (secrets
    /// included, as daprd resolves them first) have their template tags expanded by <paramref name="template"/>.
    /// </summary>
    public static ComponentSpec Read(ResourceDocument doc, Func<string, string, string, string>? resolveSecret, MetadataTemplate? template = null)
    {
        var type = doc.Spec["type"]?.GetValue<string>();
        if (string.IsNullOrWhiteSpace(type) || !type.Contains('.', StringComparison.Ordinal))
        {
            throw new ComponentConfigException($"component '{doc.Name}' in {doc.SourceFile}: spec.type is missing or malformed ('{type}')");
        }

        var version = doc.Spec["version"]?.GetValue<string>() ?? "v1";
        var ignoreErrors = bool.TryParse(doc.Spec["ignoreErrors"]?.GetValue<string>(), out var ie) && ie;
        var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var secretStore = doc.Auth?["secretStore"]?.GetValue<string>();

        if (doc.Spec["metadata"] is not null and not JsonArray && !ResourceLoader.IsEmptyScalar(doc.Spec["metadata"]))
        {
            // A mapping here ("metadata: {prefix: GW_}") was dropped without a word, and the component ran without it.
            throw new ComponentConfigException($"component '{doc.Name}' in {doc.SourceFile}: spec.metadata must be a list of name/value items");
        }

        if (doc.Spec["metadata"] is JsonArray items)
        {
            foreach (var item in items)
            {
                if (item is not JsonObject entry || entry["name"]?.GetValue<string>() is not { Length: > 0 } key)
                {
                    throw new ComponentConfigException($"component '{doc.Name}' in {doc.SourceFile}: every metadata item needs a name");
                }

                if (entry["secretKeyRef"] is not null and not JsonObject && !ResourceLoader.IsEmptyScalar(entry["secretKeyRef"]))
                {
                    throw new ComponentConfigException($"component '{doc.Name}' in {doc.SourceFile}: metadata '{key}' has a secretKeyRef that is not a mapping (name, key)");
                }

                if (entry["secretKeyRef"] is JsonObject secretRef)
                {
                    var secretName = secretRef["name"]?.GetValue<string>();
                    var secretKey = secretRef["key"]?.GetValue<string>() ?? secretName;
                    if (string.IsNullOrEmpty(secretName))
                    {
                        throw new ComponentConfigException($"component '{doc.Name}' in {doc.SourceFile}: metadata '{key}' has a secretKeyRef without a name");
                    }

                    if (string.IsNullOrEmpty(secretStore))
                    {
                        throw new ComponentConfigException($"component '{doc.Name}' in {doc.SourceFile}: metadata '{key}' uses secretKeyRef but auth.secretStore is not set");
                    }

                    if (resolveSecret is null)
                    {
                        throw new ComponentConfigException($"component '{doc.Name}' in {doc.SourceFile}: a secret store cannot itself use secretKeyRef");
                    }

                    metadata[key] = resolveSecret(secretStore, secretName, secretKey!);
                }
                else
                {
                    metadata[key] = entry["value"] switch
                    {
                        null => "",
                        JsonValue v => v.GetValue<string>(),
                        JsonNode n => n.ToJsonString(),
                    };
                }
            }
        }

        if (template is not null)
        {
            foreach (var key in metadata.Keys.ToList())
            {
                metadata[key] = template.Expand(doc.Name, key, metadata[key]);
            }
        }

        return new ComponentSpec(doc.Name, type, version, metadata, doc.Scopes, doc.SourceFile, ignoreErrors);
    }
}
