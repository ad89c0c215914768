using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Hosting;
using DaprLlm.Sidecar.State;

namespace DaprLlm.Sidecar.Metadata;

/// <summary>Builds daprd's GET /v1.0/metadata document; features add their parts through <see cref="IMetadataContributor"/>.</summary>
public sealed class MetadataService(SidecarOptions options, ComponentRegistry registry, ExtendedMetadata extended, IEnumerable<IMetadataContributor> contributors)
{
    /// <summary>The Dapr runtime version this sidecar follows (daprd's buildinfo version).</summary>
    public const string RuntimeVersion = "1.19.0";

    public JsonObject Build()
    {
        var extendedValues = new JsonObject();
        foreach (var (key, value) in extended.Snapshot())
        {
            extendedValues[key] = value;
        }

        extendedValues["daprRuntimeVersion"] = RuntimeVersion;

        var metadata = new JsonObject
        {
            ["id"] = options.AppId,
            ["runtimeVersion"] = RuntimeVersion,
        };
        if (EnabledFeatures() is { Count: > 0 } features)
        {
            metadata["enabledFeatures"] = new JsonArray(features.Select(f => (JsonNode)f).ToArray());
        }

        var components = new JsonArray();
        foreach (var spec in registry.Components.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            registry.TryGet<object>(spec.Name, out var instance);
            var capabilities = instance switch
            {
                // daprd lists ACTOR only for the store that sets actorStateStore: "true".
                IStateStore store => [.. store.Features.Where(f => f != "ACTOR"), .. store.IsActorStateStore ? new[] { "ACTOR" } : []],
                IComponentCapabilities c => c.Capabilities,
                _ => [],
            };
            components.Add(new JsonObject
            {
                ["name"] = spec.Name,
                ["type"] = spec.Type,
                ["version"] = spec.Version,
                ["capabilities"] = new JsonArray(capabilities.Select(c => (JsonNode)c).ToArray()),
            });
        }

        if (components.Count > 0)
        {
            metadata["components"] = components;
        }

        metadata["extended"] = extendedValues;
        if (registry.Documents("HTTPEndpoint") is { Count: > 0 } endpoints)
        {
            metadata["httpEndpoints"] = new JsonArray(endpoints.Select(e => (JsonNode)new JsonObject { ["name"] = e.Name }).ToArray());
        }

        var connection = new JsonObject();
        if (options.AppPort is { } port)
        {
            connection["port"] = port;
        }

        connection["protocol"] = options.AppProtocol;
        connection["channelAddress"] = options.AppChannelAddress;
        if (options.AppMaxConcurrency > 0)
        {
            connection["maxConcurrency"] = options.AppMaxConcurrency;
        }

        metadata["appConnectionProperties"] = connection;

        // The actors feature replaces this when it runs.
        metadata["actorRuntime"] = new JsonObject { ["runtimeStatus"] = "DISABLED", ["hostReady"] = false };
        if (registry.Documents("Resiliency") is { Count: > 0 } resiliencies)
        {
            metadata["resiliencies"] = new JsonArray(resiliencies.Select(r => (JsonNode)new JsonObject { ["name"] = r.Name }).ToArray());
        }

        foreach (var contributor in contributors)
        {
            contributor.Contribute(metadata);
        }

        return metadata;
    }

    /// <summary>Feature flags the --config Configuration enables (spec.features[].enabled).</summary>
    private List<string> EnabledFeatures() =>
        registry.Configuration["features"] is JsonArray features
            ? features.OfType<JsonObject>()
                .Where(f => string.Equals(f["enabled"]?.GetValue<string>(), "true", StringComparison.OrdinalIgnoreCase))
                .Select(f => f["name"]?.GetValue<string>() ?? "")
                .Where(n => n.Length > 0)
                .ToList()
            : [];
}
