using System.Text;

namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>Dapr component files for test hosts, written the way daprd reads them.</summary>
public static class ComponentYaml
{
    /// <summary>A <c>kind: Component</c> document with plain metadata values.</summary>
    public static string Component(string name, string type, params (string Name, string Value)[] metadata)
    {
        var yaml = new StringBuilder()
            .AppendLine("apiVersion: dapr.io/v1alpha1")
            .AppendLine("kind: Component")
            .AppendLine("metadata:")
            .AppendLine($"  name: {name}")
            .AppendLine("spec:")
            .AppendLine($"  type: {type}")
            .AppendLine("  version: v1")
            .AppendLine("  metadata:");
        foreach (var (key, value) in metadata)
        {
            yaml.AppendLine($"  - name: {key}").AppendLine($"    value: \"{value}\"");
        }

        return yaml.ToString();
    }

    public static string RedisState(string address, bool actorStateStore = false) => actorStateStore
        ? Component("statestore", "state.redis", ("redisHost", address), ("actorStateStore", "true"))
        : Component("statestore", "state.redis", ("redisHost", address));

    public static string RedisPubSub(string address, params (string Name, string Value)[] extra) =>
        Component("pubsub", "pubsub.redis", [("redisHost", address), .. extra]);

    public static string FileSecrets(string secretsFile) =>
        Component("secretstore", "secretstores.local.file", ("secretsFile", secretsFile), ("nestedSeparator", ":"));
}
