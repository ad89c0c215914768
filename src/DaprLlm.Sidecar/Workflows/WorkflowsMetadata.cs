using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Metadata;

namespace DaprLlm.Sidecar.Workflows;

/// <summary>daprd's "workflows" part of GET /v1.0/metadata: how many worker streams the app has open.</summary>
public sealed class WorkflowsMetadata(WorkItemHub hub) : IMetadataContributor
{
    public void Contribute(JsonObject metadata) =>
        metadata["workflows"] = new JsonObject { ["connectedWorkers"] = hub.Count };
}
