using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Hosting;

namespace DaprLlm.Sidecar.State;

/// <summary>A loaded state store with the key layout its component asks for.</summary>
public sealed record StateStoreHandle(string Name, IStateStore Store, StateKeyPrefix Keys);

/// <summary>Looks up state stores by component name for the HTTP and gRPC APIs.</summary>
public sealed class StateStores(ComponentRegistry registry, SidecarOptions options)
{
    private readonly Lazy<IReadOnlyDictionary<string, StateStoreHandle>> _stores = new(() =>
        registry.All<IStateStore>().ToDictionary(
            c => c.Spec.Name,
            c => new StateStoreHandle(c.Spec.Name, c.Instance, StateKeyPrefix.For(c.Spec, options.AppId)),
            StringComparer.Ordinal));

    public string AppId => options.AppId;

    public bool Any => _stores.Value.Count > 0;

    public bool TryGet(string name, out StateStoreHandle handle) => _stores.Value.TryGetValue(name, out handle!);
}
