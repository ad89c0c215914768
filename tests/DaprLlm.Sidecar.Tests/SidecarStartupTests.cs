using System.Net;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests;

public sealed class SidecarStartupTests
{
    [Fact]
    public async Task Answers_healthz_with_204_and_unknown_apis_with_501()
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

        Assert.Equal(HttpStatusCode.NoContent, health.StatusCode);
        Assert.Equal(HttpStatusCode.NotImplemented, unknown.StatusCode);
        Assert.Contains("ERR_NOT_IMPLEMENTED", await unknown.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
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
}
