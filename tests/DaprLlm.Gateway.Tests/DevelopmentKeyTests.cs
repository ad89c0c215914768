using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>Local first run without DAPRLLM_DEV_API_KEY: the gateway generates the key, prints it once, and shows it again on request.</summary>
public sealed partial class DevelopmentKeyTests
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["DAPRLLM_DEV_API_KEY"] = "", // as on a fresh machine where the developer chose no key
        ["Routing:InferenceByRegion:eu"] = "inference-eu",
        ["Routing:InferenceByRegion:us"] = "inference-us",
    };

    [Fact]
    public async Task A_generated_key_is_printed_once_works_and_is_shown_again_by_the_admin_api()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var environment = new GatewayEnvironment();
        await environment.InitializeAsync();
        await using var backend = new FakeBackend();
        await backend.StartAsync();

        string key;
        await using (var first = await GatewayNode.StartAsync(environment, backend, TimeProvider.System, Settings))
        {
            var printed = PrintedKey().Matches(first.Logs.ToString());
            key = Assert.Single(printed).Value;
            Assert.NotEqual(environment.DevKey, key);
            await AssertWorksAndIsShownAsync(first, key, ct);
        }

        // A restart on the same store keeps the key and does not print it again.
        await using var second = await GatewayNode.StartAsync(environment, backend, TimeProvider.System, Settings);
        await Deadline.WaitUntilAsync(() => second.Logs.ToString().Contains("Development API key already exists", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "the restarted gateway to find the stored development key");
        Assert.DoesNotContain(key, second.Logs.ToString(), StringComparison.Ordinal);
        await AssertWorksAndIsShownAsync(second, key, ct);
    }

    [Fact]
    public async Task A_revoked_preset_key_stays_revoked_when_the_gateway_restarts()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var environment = new GatewayEnvironment();
        await environment.InitializeAsync();
        await using var backend = new FakeBackend();
        await backend.StartAsync();
        var preset = new Dictionary<string, string?>(Settings) { ["DAPRLLM_DEV_API_KEY"] = environment.DevKey };
        var keyId = DaprLlm.Gateway.Tenants.ApiKeyFormat.Split(environment.DevKey).KeyId;

        await using (var first = await GatewayNode.StartAsync(environment, backend, TimeProvider.System, preset))
        {
            using var admin = first.Client(GatewayEnvironment.AdminKey);
            using var revoked = await admin.DeleteAsync($"/admin/keys/{keyId}", ct);
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        // Same DAPRLLM_DEV_API_KEY, same store: the key was created again on start and worked again (a leaked key came back).
        await using var second = await GatewayNode.StartAsync(environment, backend, TimeProvider.System, preset);
        await Deadline.WaitUntilAsync(() => second.Logs.ToString().Contains("stays revoked", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "the restarted gateway to see the revoked development key");
        using var client = second.Client(environment.DevKey);
        using var models = await client.GetAsync("/v1/models", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
    }

    private static async Task AssertWorksAndIsShownAsync(GatewayNode node, string key, CancellationToken ct)
    {
        using var admin = node.Client(GatewayEnvironment.AdminKey);
        var shown = await admin.GetFromJsonAsync<JsonElement>("/admin/dev-key", ct);
        Assert.Equal(key, shown.GetProperty("key").GetString());
        Assert.Equal("dev", shown.GetProperty("tenantId").GetString());

        using var client = node.Client(key);
        using var models = await client.GetAsync("/v1/models", ct);
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }

    [GeneratedRegex("dl-[0-9a-f]{12}-[0-9a-f]{48}")]
    private static partial Regex PrintedKey();
}
