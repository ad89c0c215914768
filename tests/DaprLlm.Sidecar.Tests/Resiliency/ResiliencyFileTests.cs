using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Resiliency;

public sealed class ResiliencyFileTests
{
    [Theory]
    [InlineData("trip: consecutiveFailures >>= 3", "invalid trip expression")]
    [InlineData("trip: failuresInARow > 3", "unknown variable 'failuresInARow'")]
    [InlineData("timeout: soon", "'soon' is not a duration")]
    [InlineData("maxRequests: many", "maxRequests")]
    public async Task An_invalid_resiliency_file_stops_the_sidecar_naming_the_file_and_problem(string badLine, string problem)
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        var file = folder.Write("components/resiliency.yaml", $$"""
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: broken
            spec:
              policies:
                circuitBreakers:
                  cb:
                    {{badLine}}
              targets:
                apps:
                  other:
                    circuitBreaker: cb
            """);

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(
            new SidecarSettings("resiliency-bad", components, folder.Sub("registry")), TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.Contains(file, output, StringComparison.Ordinal);
        Assert.Contains(problem, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_target_naming_an_undefined_policy_stops_the_sidecar()
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        var file = folder.Write("components/resiliency.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: dangling
            spec:
              policies:
                retries:
                  quick:
                    policy: constant
                    duration: 1s
              targets:
                apps:
                  other:
                    retry: missing
            """);

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(
            new SidecarSettings("resiliency-dangling", components, folder.Sub("registry")), TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.Contains(file, output, StringComparison.Ordinal);
        Assert.Contains("retry policy 'missing'", output, StringComparison.Ordinal);
    }
}
