using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.Components;

/// <summary>
/// Checks a Configuration's spec.secrets.scopes at start, as daprd does: every mistake in it (a mapping where a list
/// belongs, a scalar allowedSecrets, "defaultAccess: denied", a store named twice) would otherwise read as "allow
/// every secret", failing open.
/// </summary>
public static class SecretScopesRules
{
    public static void Validate(JsonObject configuration, string file)
    {
        if (configuration["secrets"] is not { } secrets || ResourceLoader.IsEmptyScalar(secrets))
        {
            return;
        }

        if (secrets is not JsonObject || secrets["scopes"] is not { } scopes || ResourceLoader.IsEmptyScalar(scopes))
        {
            Require(secrets is JsonObject, file, "spec.secrets must be a mapping");
            return;
        }

        Require(scopes is JsonArray, file, "spec.secrets.scopes must be a list");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var scope in (JsonArray)scopes)
        {
            Require(scope is JsonObject, file, "each spec.secrets.scopes entry must be a mapping");
            var entry = (JsonObject)scope!;
            var store = entry["storeName"] is JsonValue v ? v.GetValue<string>() : null;
            Require(!string.IsNullOrWhiteSpace(store), file, "a spec.secrets.scopes entry has no storeName");
            Require(names.Add(store!), file, $"spec.secrets.scopes names store '{store}' twice");
            foreach (var list in new[] { "allowedSecrets", "deniedSecrets" })
            {
                Require(entry[list] is null or JsonArray || ResourceLoader.IsEmptyScalar(entry[list]), file, $"spec.secrets.scopes '{store}': {list} must be a list");
            }

            var access = entry["defaultAccess"] is null || ResourceLoader.IsEmptyScalar(entry["defaultAccess"]) ? "allow"
                : entry["defaultAccess"] is JsonValue a ? a.GetValue<string>() : null;
            Require(access is not null && (access.Equals("allow", StringComparison.OrdinalIgnoreCase) || access.Equals("deny", StringComparison.OrdinalIgnoreCase)),
                file, $"spec.secrets.scopes '{store}': defaultAccess must be 'allow' or 'deny'");
        }
    }

    private static void Require(bool condition, string file, string problem)
    {
        if (!condition)
        {
            throw new ComponentConfigException($"{file}: {problem}");
        }
    }
}
