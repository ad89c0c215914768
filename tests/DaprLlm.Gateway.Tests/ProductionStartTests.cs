using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DaprLlm.Gateway.Tests;

/// <summary>A production gateway never runs with a development key.</summary>
public sealed class ProductionStartTests
{
    [Fact]
    public void Production_refuses_to_start_when_a_development_key_is_set()
    {
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Production");
            web.UseSetting("DAPRLLM_DEV_API_KEY", "dev-key-that-must-not-run-in-production");
            web.ConfigureLogging(l => l.ClearProviders());
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("DAPRLLM_DEV_API_KEY", error.ToString(), StringComparison.Ordinal);
    }
}
