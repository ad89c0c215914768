using System.Net;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace DaprLlm.Sidecar.Tests;

public sealed class SidecarStartupTests
{
    [Fact]
    public async Task Answers_healthz_with_204_a_foreign_appid_probe_with_500_and_unknown_apis_with_501()
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        folder.Write("components/state.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: statestore
            spec:
              type: state.in-memory
              version: v1
            """);
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("startup-app", components, folder.Sub("registry")));
        using var http = new HttpClient();

        using var health = await http.GetAsync($"{sidecar.HttpEndpoint}/v1.0/healthz", TestContext.Current.CancellationToken);
        using var unknown = await http.GetAsync($"{sidecar.HttpEndpoint}/v1.0/no-such-api", TestContext.Current.CancellationToken);
        using var sameApp = await http.GetAsync($"{sidecar.HttpEndpoint}/v1.0/healthz?appid=startup-app", TestContext.Current.CancellationToken);
        using var otherApp = await http.GetAsync($"{sidecar.HttpEndpoint}/v1.0/healthz?appid=other-app", TestContext.Current.CancellationToken);
        using var emptyAppId = await http.GetAsync($"{sidecar.HttpEndpoint}/v1.0/healthz?appid=", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NoContent, health.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, sameApp.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, otherApp.StatusCode);
        Assert.Contains("ERR_HEALTH_APPID_NOT_MATCH", await otherApp.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InternalServerError, emptyAppId.StatusCode);
        Assert.Equal(HttpStatusCode.NotImplemented, unknown.StatusCode);
        Assert.Contains("ERR_NOT_IMPLEMENTED", await unknown.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Answers_a_grpc_api_it_does_not_implement_with_unimplemented()
    {
        using var folder = new TempFolder();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("startup-grpc-app", folder.Sub("components"), folder.Sub("registry")));
        using var channel = GrpcChannel.ForAddress(sidecar.GrpcEndpoint);
        var dapr = new Autogen.Dapr.DaprClient(channel);

        // The configuration API is not one of the building blocks the local sidecar serves.
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await dapr.GetConfigurationAsync(new Autogen.GetConfigurationRequest { StoreName = "config" }, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.Unimplemented, refused.StatusCode);
        Assert.Equal("dapr.proto.runtime.v1.Dapr/GetConfiguration is not implemented by the DaprLlm local sidecar", refused.Status.Detail);
        var state = await dapr.GetStateAsync(new Autogen.GetStateRequest { StoreName = "nowhere", Key = "k" }, cancellationToken: TestContext.Current.CancellationToken)
            .ResponseAsync.ContinueWith(t => t.Exception?.InnerException as RpcException, TestContext.Current.CancellationToken);
        Assert.Equal(StatusCode.FailedPrecondition, state?.StatusCode); // an implemented API still reaches its service (no store configured)
        Assert.False(sidecar.HasExited);
    }

    [Fact]
    public async Task Stops_at_start_naming_the_file_and_component_of_an_unsupported_type()
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        var file = folder.Write("components/bad.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: mystery
            spec:
              type: state.cassandra
              version: v1
            """);

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(
            new SidecarSettings("bad-app", components, folder.Sub("registry")), TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("mystery", output, StringComparison.Ordinal);
        Assert.Contains(file, output, StringComparison.Ordinal);
        Assert.Contains("state.cassandra", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stops_at_start_on_malformed_yaml()
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        var file = folder.Write("components/broken.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: [unclosed\n");

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(
            new SidecarSettings("broken-app", components, folder.Sub("registry")), TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains(file, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("  routes:\n    default: /orders", "has no topic")]
    [InlineData("  topic: orders\n  routes:\n    rules:\n    - match: event.type ==\n      path: /typed", "match expression")]
    public async Task Stops_at_start_naming_the_file_of_an_invalid_subscription(string specLines, string problem)
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        var file = folder.Write("components/subscription.yaml", $"""
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: broken-sub
            spec:
              pubsubname: pubsub
            {specLines}
            """);

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(
            new SidecarSettings("subscription-bad", components, folder.Sub("registry")), TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.Contains(file, output, StringComparison.Ordinal);
        Assert.Contains("broken-sub", output, StringComparison.Ordinal);
        Assert.Contains(problem, output, StringComparison.Ordinal);
    }

    /// <summary>Shapes daprd's decoder refuses; read leniently, each one widened access (no scopes = every app).</summary>
    [Theory]
    [InlineData("spec:\n  type: secretstores.local.env\n  version: v1\nscopes: gateway", "scopes must be a list")]
    [InlineData("spec:\n  type: secretstores.local.env\n  version: v1\n  metadata:\n    prefix: GW_", "spec.metadata must be a list")]
    [InlineData("spec:\n  type: state.in-memory\n  version: v1\n  metadata:\n  - name: x\n    secretKeyRef: plain", "secretKeyRef that is not a mapping")]
    public async Task Stops_at_start_on_a_component_whose_scopes_or_metadata_have_the_wrong_shape(string body, string problem)
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        var file = folder.Write("components/shape.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: shaped\n" + body + "\n");

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(
            new SidecarSettings("shape-app", components, folder.Sub("registry")), TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains(file, output, StringComparison.Ordinal);
        Assert.Contains(problem, output, StringComparison.Ordinal);
    }

    /// <summary>daprd validates secrets.scopes at start; each of these mistakes read as "every secret allowed".</summary>
    [Theory]
    [InlineData("    scopes:\n      storeName: env", "must be a list")]
    [InlineData("    scopes:\n    - storeName: env\n      allowedSecrets: a", "allowedSecrets must be a list")]
    [InlineData("    scopes:\n    - storeName: env\n      defaultAccess: denied", "defaultAccess must be 'allow' or 'deny'")]
    [InlineData("    scopes:\n    - storeName: env\n    - storeName: env", "twice")]
    public async Task Stops_at_start_on_secret_scopes_that_would_fail_open(string scopes, string problem)
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        var config = folder.Write("config.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\nspec:\n  secrets:\n" + scopes + "\n");

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(
            new SidecarSettings("scopes-app", components, folder.Sub("registry")) { ConfigPath = config }, TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains(config, output, StringComparison.Ordinal);
        Assert.Contains(problem, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stops_at_start_on_an_app_id_with_a_dot()
    {
        using var folder = new TempFolder();
        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(
            new SidecarSettings("my.app", folder.Sub("components"), folder.Sub("registry")), TimeSpan.FromSeconds(30));

        // Accepted before, and unreachable: callers took "my.app" for app "my" in namespace "app".
        Assert.NotEqual(0, exitCode);
        Assert.Contains("cannot contain dots", output, StringComparison.Ordinal);
    }
}
