using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>Component folders for actor tests.</summary>
public static class ActorComponents
{
    public static string InMemory(TempFolder folder)
    {
        folder.Write("components/actorstore.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: actorstore
            spec:
              type: state.in-memory
              version: v1
              metadata:
              - name: actorStateStore
                value: "true"
            """);
        return folder.Sub("components");
    }

    /// <summary>A state.sqlite actor store in the folder; <paramref name="database"/> is its file (for fault injection).</summary>
    public static string Sqlite(TempFolder folder, out string database)
    {
        database = Path.Combine(folder.Path, "actors.db");
        folder.Write("components/actorstore.yaml", $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: actorstore
            spec:
              type: state.sqlite
              version: v1
              metadata:
              - name: connectionString
                value: "{database}"
              - name: actorStateStore
                value: "true"
            """);
        return folder.Sub("components");
    }

    public static string Redis(TempFolder folder, RedisServer redis)
    {
        folder.Write("components/actorstore.yaml", $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: actorstore
            spec:
              type: state.redis
              version: v1
              metadata:
              - name: redisHost
                value: "{redis.Address}"
              - name: actorStateStore
                value: "true"
            """);
        return folder.Sub("components");
    }
}
