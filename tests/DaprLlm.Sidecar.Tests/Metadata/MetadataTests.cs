using System.Net;
using System.Text;
using System.Text.Json;
using Dapr.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Metadata;

/// <summary>GET/PUT /v1.0/metadata and the SDK's GetMetadataAsync/SetMetadataAsync against a real sidecar.</summary>
public sealed class MetadataTests
{
    // CI machines are shared and loaded: a sidecar may take far longer than usual to start.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Lists_the_app_id_components_in_scope_with_capabilities_and_extended_metadata()
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        folder.Write("components/all.yaml", $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: actorstore
            spec:
              type: state.sqlite
              version: v1
              metadata:
              - name: connectionString
                value: "{Path.Combine(folder.Path, "m.db")}"
              - name: actorStateStore
                value: "true"
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: cache
            spec:
              type: state.in-memory
              version: v1
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: env
            spec:
              type: secretstores.local.env
              version: v1
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: mine
            spec:
              type: state.in-memory
              version: v1
            scopes:
            - metadata-app
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: foreign
            spec:
              type: state.in-memory
              version: v1
            scopes:
            - someone-else
            """);
        var config = folder.Write("config.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Configuration
            metadata:
              name: config
            spec:
              features:
              - name: SchedulerReminders
                enabled: true
              - name: Disabled
                enabled: false
            """);
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("metadata-app", components, folder.Sub("registry")) { ConfigPath = config }, StartTimeout);
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };
        using var client = new DaprClientBuilder().UseHttpEndpoint(sidecar.HttpEndpoint).UseGrpcEndpoint(sidecar.GrpcEndpoint).Build();

        using var put = await http.PutAsync("/v1.0/metadata/team", new StringContent("search", Encoding.UTF8, "text/plain"), Ct);
        await client.SetMetadataAsync("owner", "alice", Ct);
        using var document = JsonDocument.Parse(await http.GetStringAsync("/v1.0/metadata", Ct));
        var sdk = await client.GetMetadataAsync(Ct);

        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        var root = document.RootElement;
        Assert.Equal("metadata-app", root.GetProperty("id").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("runtimeVersion").GetString()));
        Assert.Equal(["SchedulerReminders"], root.GetProperty("enabledFeatures").EnumerateArray().Select(e => e.GetString()));
        var listed = root.GetProperty("components").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal("state.sqlite", listed["actorstore"].GetProperty("type").GetString());
        Assert.Equal("v1", listed["actorstore"].GetProperty("version").GetString());
        Assert.Equal(["ETAG", "TRANSACTIONAL", "TTL", "ACTOR"], listed["actorstore"].GetProperty("capabilities").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["ETAG", "TRANSACTIONAL", "TTL"], listed["cache"].GetProperty("capabilities").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("secretstores.local.env", listed["env"].GetProperty("type").GetString());
        Assert.Equal("search", root.GetProperty("extended").GetProperty("team").GetString());
        Assert.Equal("alice", root.GetProperty("extended").GetProperty("owner").GetString());

        Assert.Equal("metadata-app", sdk.Id);
        // A component scoped to other app ids is not loaded for this one.
        Assert.Equal(["actorstore", "cache", "env", "mine"], sdk.Components.Select(c => c.Name).Order());
        Assert.Contains("ACTOR", sdk.Components.Single(c => c.Name == "actorstore").Capabilities);
        Assert.Equal("search", sdk.Extended["team"]);
    }
}
