using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Metadata;

namespace DaprLlm.Sidecar.Actors;

/// <summary>The actors part of GET /v1.0/metadata: active actors per hosted type and the runtime's status.</summary>
public sealed class ActorsMetadata(ActorRuntime runtime, ActorStateStoreResolver stores) : IMetadataContributor
{
    public void Contribute(JsonObject metadata)
    {
        var counts = new JsonArray(runtime.ActiveCounts().Select(c => (JsonNode)new JsonObject { ["type"] = c.Type, ["count"] = c.Count }).ToArray());
        metadata["actors"] = counts;
        var ready = runtime.Ready.IsCompleted;
        var status = new JsonObject
        {
            ["runtimeStatus"] = !ready ? "INITIALIZING" : stores.Store is null ? "DISABLED" : "RUNNING",
            ["activeActors"] = counts.DeepClone(),
            ["hostReady"] = ready && runtime.Config.Entities.Count > 0 && stores.Store is not null,
            ["placement"] = "placement: local leases in the actor state store",
        };
        metadata["actorRuntime"] = status;
    }
}
