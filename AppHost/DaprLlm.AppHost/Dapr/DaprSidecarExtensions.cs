using System.Globalization;
using DaprLlm.AppHost.Infrastructure;

namespace DaprLlm.AppHost.Dapr;

/// <summary>
/// Attaches a Dapr sidecar to an app, the way CommunityToolkit's Dapr integration does: an executable resource
/// "&lt;app&gt;-dapr" beside the app with daprd's flags, the app told where its sidecar is through DAPR_* variables,
/// and the app started only once its sidecar (and Redis) is healthy.
/// </summary>
public static class DaprSidecarExtensions
{
    public static IResourceBuilder<ProjectResource> WithDaprSidecar(this IResourceBuilder<ProjectResource> app, DaprRuntime dapr)
    {
        var appId = app.Resource.Name;
        var appPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var grpcPort = FreePort.Next();
        var metricsPort = FreePort.Next();

        // The app listens on a port fixed now, so the sidecar's --app-port is known before either starts.
        app.WithEndpoint("http", endpoint => endpoint.TargetPort = appPort);

        // Dapr's app token, new each run: the sidecar sends it on every call, the app refuses its Dapr routes without it.
        var appToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        var args = new List<string>
        {
            "--app-id", appId,
            "--app-port", Invariant(appPort),
            "--app-protocol", "http",
            "--app-channel-address", "127.0.0.1",
            "--dapr-http-port", Invariant(httpPort),
            "--dapr-grpc-port", Invariant(grpcPort),
            "--metrics-port", Invariant(metricsPort),
            "--resources-path", dapr.Layout.LocalComponents,
            "--config", dapr.Layout.DaprConfig,
            "--placement-host-address", dapr.PlacementAddress,
            "--scheduler-host-address", dapr.SchedulerAddress,
            "--log-level", "info",
        };

        var sidecarName = $"{appId}-dapr";
        IResourceBuilder<IResourceWithWaitSupport> sidecar = dapr.DaprdPath is { } daprd
            ? Configure(dapr.Builder.AddExecutable(sidecarName, daprd, dapr.Layout.Root, [.. args]), app.Resource, dapr, httpPort, grpcPort, appToken)
            : Configure(dapr.Builder.AddExecutable(sidecarName, "dotnet", dapr.Layout.Root, ["exec", LocalSidecar.DllPath, .. args]), app.Resource, dapr, httpPort, grpcPort, appToken);

        return app
            .WithHttpHealthCheck("/health")
            .WithEnvironment("APP_ID", appId)
            .WithEnvironment("DAPR_HTTP_ENDPOINT", $"http://127.0.0.1:{Invariant(httpPort)}")
            .WithEnvironment("DAPR_GRPC_ENDPOINT", $"http://127.0.0.1:{Invariant(grpcPort)}")
            .WithEnvironment("DAPR_HTTP_PORT", Invariant(httpPort))
            .WithEnvironment("DAPR_GRPC_PORT", Invariant(grpcPort))
            .WithEnvironment("APP_API_TOKEN", appToken)
            .WaitFor(sidecar);
    }

    private static IResourceBuilder<T> Configure<T>(IResourceBuilder<T> sidecar, IResource app, DaprRuntime dapr, int httpPort, int grpcPort, string appToken)
        where T : IResourceWithEndpoints, IResourceWithEnvironment, IResourceWithWaitSupport
    {
        return sidecar
            .WithHttpEndpoint(port: httpPort, targetPort: httpPort, name: "http", isProxied: false)
            .WithEndpoint(port: grpcPort, targetPort: grpcPort, name: "grpc", scheme: "http", isProxied: false)
            // daprd answers its health endpoints with 204; /outbound is ready before the app is (no deadlock with WaitFor).
            .WithHttpHealthCheck("/v1.0/healthz/outbound", statusCode: 204, endpointName: "http")
            .WithEnvironment("REDIS_HOST", dapr.Redis.Address)
            .WithEnvironment("DAPRLLM_SIDECAR_REGISTRY", dapr.RegistryPath)
            .WithEnvironment("APP_API_TOKEN", appToken)
            .WithOtlpExporter()
            .WithParentRelationship(app)
            .ExcludeFromManifest()
            .WaitFor(dapr.Redis.Resource);
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
