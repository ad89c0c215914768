using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace DaprLlm.Sidecar.Components;

/// <summary>
/// Reads every *.yaml / *.yml file of the resources paths (and the --config file) the way daprd does:
/// multi-document files, apiVersion + kind + metadata.name, scopes. Malformed input throws a
/// <see cref="ComponentConfigException"/> naming the file and the problem.
/// </summary>
public static class ResourceLoader
{
    private static readonly HashSet<string> KnownKinds =
        ["Component", "Configuration", "Resiliency", "Subscription", "HTTPEndpoint"];

    public static IReadOnlyList<ResourceDocument> LoadPaths(IEnumerable<string> paths)
    {
        var documents = new List<ResourceDocument>();
        foreach (var path in paths)
        {
            if (File.Exists(path))
            {
                documents.AddRange(LoadFile(path));
                continue;
            }

            if (!Directory.Exists(path))
            {
                throw new ComponentConfigException($"resources path '{path}' does not exist");
            }

            foreach (var file in Directory.EnumerateFiles(path)
                         .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                         .Order(StringComparer.Ordinal))
            {
                documents.AddRange(LoadFile(file));
            }
        }

        return documents;
    }

    public static IReadOnlyList<ResourceDocument> LoadFile(string file)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(file);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new ComponentConfigException($"{file}: invalid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.Message}", e);
        }

        var documents = new List<ResourceDocument>();
        foreach (var doc in stream.Documents)
        {
            if (doc.RootNode is YamlScalarNode { Value: null or "" })
            {
                continue;
            }

            if (ToJson(doc.RootNode) is not JsonObject root)
            {
                throw new ComponentConfigException($"{file}: a document is not a YAML mapping");
            }

            documents.Add(ToDocument(root, file));
        }

        return documents;
    }

    private static ResourceDocument ToDocument(JsonObject root, string file)
    {
        var apiVersion = root["apiVersion"]?.GetValue<string>();
        var kind = root["kind"]?.GetValue<string>();
        if (string.IsNullOrEmpty(apiVersion) || !apiVersion.StartsWith("dapr.io/", StringComparison.Ordinal))
        {
            throw new ComponentConfigException($"{file}: apiVersion must be dapr.io/<version>, found '{apiVersion}'");
        }

        if (string.IsNullOrEmpty(kind) || !KnownKinds.Contains(kind))
        {
            throw new ComponentConfigException($"{file}: unknown kind '{kind}' (expected one of {string.Join(", ", KnownKinds)})");
        }

        var name = (root["metadata"] as JsonObject)?["name"]?.GetValue<string>();
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ComponentConfigException($"{file}: {kind} has no metadata.name");
        }

        var spec = root["spec"] as JsonObject ?? [];
        // Fail closed, as daprd's decoder does: a scopes value that is not a list (e.g. "scopes: gateway") would
        // otherwise read as no scopes, which means every app.
        var scopes = root["scopes"] switch
        {
            null => [],
            JsonValue empty when IsEmptyScalar(empty) => [], // "scopes:" with nothing after it is YAML's null
            JsonArray arr when arr.All(s => s is JsonValue) => arr.Select(s => s!.GetValue<string>()).Where(s => s.Length > 0).ToList(),
            _ => throw new ComponentConfigException($"{file}: {kind} '{name}': scopes must be a list of app ids"),
        };
        if (root["spec"] is not null and not JsonObject && !(root["spec"] is JsonValue emptySpec && IsEmptyScalar(emptySpec)))
        {
            throw new ComponentConfigException($"{file}: {kind} '{name}': spec must be a mapping");
        }

        return new ResourceDocument(apiVersion, kind, name, (JsonObject)spec.DeepClone(), scopes, root["auth"] as JsonObject, file);
    }

    /// <summary>A key with nothing after it ("metadata:"), which YAML reads as null and this converter as "".</summary>
    public static bool IsEmptyScalar(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) && text.Length == 0;

    /// <summary>Converts a YAML node to JSON; every scalar becomes a string.</summary>
    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Value: null } => null,
        YamlScalarNode { Style: ScalarStyle.Plain, Value: "~" or "null" } => null,
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => null,
    };
}
