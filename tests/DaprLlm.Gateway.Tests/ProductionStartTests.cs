using System.Net;
using DaprLlm.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DaprLlm.Gateway.Tests;

/// <summary>A production gateway never runs with a development key.</summary>
public sealed class ProductionStartTests
{
    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public void Production_refuses_to_start_when_a_development_key_is_set(string environment)
    {
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment(environment);
            web.UseSetting("DAPRLLM_DEV_API_KEY", "dev-key-that-must-not-run-in-production");
            web.ConfigureLogging(l => l.ClearProviders());
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("DAPRLLM_DEV_API_KEY", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("devkey123", "is 9 characters")]
    [InlineData("sk-dev with a space in it", "contains white space")]
    public void A_development_key_that_could_never_authenticate_stops_the_start(string key, string problem)
    {
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Development");
            web.UseSetting("DAPRLLM_DEV_API_KEY", key);
            web.ConfigureLogging(l => l.ClearProviders());
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("DAPRLLM_DEV_API_KEY " + problem, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_stops_when_a_development_key_is_stored_even_without_the_variable()
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
        };

        // A development run on this state store seeds and stores the development key (as on a laptop or a reused store).
        await using (await GatewayNode.StartAsync(environment, backend, TimeProvider.System, settings))
        {
        }

        // The same store in Production, with DAPRLLM_DEV_API_KEY unset: only the stored key can give it away.
        var port = Ports.GetFree();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("gateway", environment.Components, environment.Registry) { AppPort = port });
        var logs = new LogBuffer();
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Production");
            web.ConfigureLogging(l => l.ClearProviders().AddProvider(logs));
            foreach (var (k, v) in sidecar.AppEnvironment.Select(kv => KeyValuePair.Create(kv.Key, (string?)kv.Value)).Concat(settings))
            {
                web.UseSetting(k, v);
            }

            web.UseSetting("DAPRLLM_DEV_API_KEY", "");
            web.UseSetting("Outbox:Directory", Path.Combine(Path.GetDirectoryName(environment.Components)!, "outbox-production"));
        });
        factory.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        factory.StartServer();

        // The check needs the sidecar, so it runs right after start: the host stops itself, and nothing listens any more.
        var lifetime = factory.Services.GetRequiredService<IHostApplicationLifetime>();
        try
        {
            await Deadline.WaitUntilAsync(() => lifetime.ApplicationStopped.IsCancellationRequested, TimeSpan.FromSeconds(30), "the production gateway to stop itself");
            // The gateway's process would exit non-zero (its Main returns void); the test runner's Main returns its own code.
            Assert.Equal(1, Environment.ExitCode);
        }
        finally
        {
            Environment.ExitCode = 0;
        }

        Assert.Contains("Critical DaprLlm.Gateway.Tenants.DevTenantSeeder: A development API key is stored but the environment is not Development", logs.ToString(), StringComparison.Ordinal);
        using var http = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://127.0.0.1:{port}/v1/models", ct));
    }
}
