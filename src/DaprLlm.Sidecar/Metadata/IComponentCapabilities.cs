namespace DaprLlm.Sidecar.Metadata;

/// <summary>
/// A component's capabilities as GET /v1.0/metadata lists them (state stores use IStateStore.Features;
/// other components implement this, e.g. "MULTIPLE_KEY_VALUES_PER_SECRET", "OUTPUT_BINDING").
/// </summary>
public interface IComponentCapabilities
{
    IReadOnlyList<string> Capabilities { get; }
}
