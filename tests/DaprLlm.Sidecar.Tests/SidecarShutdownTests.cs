using System.Net;
using Dapr.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests;

/// <summary>daprd's shutdown API: the call is answered, then the sidecar process stops gracefully (exit code 0).</summary>
public sealed class SidecarShutdownTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Post_shutdown_answers_204_and_the_process_exits()
    {
        using var folder = new TempFolder();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("shutdown-http-app", folder.Sub("components"), folder.Sub("registry")));
        using var http = new HttpClient();

        using var response = await http.PostAsync($"{sidecar.HttpEndpoint}/v1.0/shutdown", null, Ct);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await Deadline.WaitUntilAsync(() => sidecar.HasExited, TimeSpan.FromSeconds(20), "the sidecar to exit after POST /v1.0/shutdown");
        Assert.Equal(0, sidecar.ExitCode);
    }

    [Fact]
    public async Task Sdk_ShutdownSidecarAsync_over_grpc_stops_the_process()
    {
        using var folder = new TempFolder();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("shutdown-grpc-app", folder.Sub("components"), folder.Sub("registry")));
        using var client = new DaprClientBuilder().UseHttpEndpoint(sidecar.HttpEndpoint).UseGrpcEndpoint(sidecar.GrpcEndpoint).Build();

        await client.ShutdownSidecarAsync(Ct);

        await Deadline.WaitUntilAsync(() => sidecar.HasExited, TimeSpan.FromSeconds(20), "the sidecar to exit after gRPC Shutdown");
        Assert.Equal(0, sidecar.ExitCode);
    }
}
