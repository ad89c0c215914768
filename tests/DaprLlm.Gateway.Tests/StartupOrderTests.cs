using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>A gateway that starts before its sidecar (the usual race on Kubernetes and under Aspire) waits for it quietly.</summary>
public sealed class StartupOrderTests
{
    [Fact]
    public async Task A_gateway_started_before_its_sidecar_waits_for_it_without_warnings_and_then_serves()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var environment = new GatewayEnvironment();
        await environment.InitializeAsync();
        await using var backend = new FakeBackend();
        await backend.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Routing:InferenceByRegion:eu"] = "inference-eu",
            ["Routing:InferenceByRegion:us"] = "inference-us",
            // Ten revocation polls would fall in the second the sidecar is down.
            ["Tenants:RevocationPoll"] = "00:00:00.100",
        };

        await using var node = await GatewayNode.StartAsync(environment, backend, TimeProvider.System, settings, sidecarLateBy: TimeSpan.FromSeconds(1));

        using var client = node.Client(environment.DevKey);
        using var models = await client.GetAsync("/v1/models", ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, models.StatusCode);
        var warnings = node.Logs.ToString().Split(Environment.NewLine).Where(line => line.StartsWith("Warning", StringComparison.Ordinal)).ToList();
        Assert.Empty(warnings);
    }
}
