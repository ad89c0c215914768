using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// A local model whose ONNX Runtime step hangs is reported stalled (v1/models, /health), refuses new requests with
/// 503 so the gateway routes away, and is ready again once the step returns. The hang is made through the
/// scheduler's test-only step hook, on the real service and the real demo model.
/// </summary>
public sealed class StepTimeoutTests
{
    [Fact]
    public async Task A_decode_step_that_hangs_past_the_step_timeout_reports_the_model_stalled_until_it_returns()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = new Factory(new() { ["Inference:StepTimeoutSeconds"] = "1" });
        using var client = app.CreateClient();
        var model = await app.Services.GetRequiredService<ModelRegistry>().GetAsync(InferenceAppFactory.Model);
        using var release = new ManualResetEventSlim(false);
        model.Scheduler!.Watchdog.OnStep = kind =>
        {
            if (kind == "decode")
            {
                release.Wait(ct);
            }
        };

        try
        {
            var hung = client.PostAsJsonAsync("/v1/generate", Api.Request("Jesus wept.", maxTokens: 8), ct);

            await StatusUntilAsync(client, "stalled", ct);
            using (var health = await client.GetAsync("/health", ct))
            {
                Assert.Equal("Degraded", await health.Content.ReadAsStringAsync(ct));
            }

            var report = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(ct);
            Assert.Contains("Inference:StepTimeoutSeconds", report.Entries["models"].Description, StringComparison.Ordinal);

            // New requests get a clear 503 at once instead of queueing behind the hung step.
            using (var refused = await client.PostAsJsonAsync("/v1/generate", Api.Request("Jesus wept."), ct))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");
                Assert.Equal("model_unavailable", error.GetProperty("code").GetString());
                Assert.Contains("stalled", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            }

            // The step returns: the waiting request finishes and the model is ready again.
            model.Scheduler.Watchdog.OnStep = null;
            release.Set();
            using var finished = await hung;
            Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
            await StatusUntilAsync(client, "ready", ct);
            using var healthy = await client.GetAsync("/health", ct);
            Assert.Equal("Healthy", await healthy.Content.ReadAsStringAsync(ct));
        }
        finally
        {
            model.Scheduler.Watchdog.OnStep = null;
            release.Set();
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3601")]
    public async Task A_step_timeout_out_of_range_fails_the_start(string seconds)
    {
        var error = await StartFailure.OfAsync(new Dictionary<string, string?> { ["Inference:StepTimeoutSeconds"] = seconds });

        Assert.Contains("StepTimeoutSeconds", error.Message, StringComparison.Ordinal);
    }

    private static async Task StatusUntilAsync(HttpClient client, string status, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models");
            last = models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == InferenceAppFactory.Model).GetProperty("status").GetString();
            if (last == status)
            {
                return;
            }

            await Task.Delay(50, ct);
        }

        Assert.Fail($"model status stayed '{last}', expected '{status}'");
    }

    private sealed class Factory(Dictionary<string, string?> settings) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        }
    }
}
