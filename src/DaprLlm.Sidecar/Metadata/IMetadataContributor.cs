using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.Metadata;

/// <summary>
/// Adds a feature's part to GET /v1.0/metadata (daprd's JSON names: "actors", "subscriptions",
/// "actorRuntime", ...). The gRPC GetMetadata answer is built from the same JSON.
/// </summary>
public interface IMetadataContributor
{
    void Contribute(JsonObject metadata);
}
