using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.State;

namespace DaprLlm.Sidecar.Actors;

/// <summary>Finds the one state store marked actorStateStore: "true", as daprd requires for actors.</summary>
public sealed class ActorStateStoreResolver(ComponentRegistry registry)
{
    public const string MissingMessage =
        "the state store is not configured to use the actor runtime. Have you set the - name: actorStateStore value: \"true\" in your state store component file?";

    private IReadOnlyList<(string Name, IStateStore Store)>? _stores;

    /// <summary>Names of every actor state store (daprd refuses more than one).</summary>
    public IReadOnlyList<string> Names => Stores.Select(s => s.Name).ToList();

    /// <summary>The actor state store, or null when none (or more than one) is configured.</summary>
    public IStateStore? Store => Stores.Count == 1 ? Stores[0].Store : null;

    private IReadOnlyList<(string Name, IStateStore Store)> Stores =>
        _stores ??= registry.All<IStateStore>().Where(c => c.Instance.IsActorStateStore).Select(c => (c.Spec.Name, c.Instance)).ToList();
}
