using System.Net;
using System.Text.Json;
using DaprLlm.Gateway.Tests.Infrastructure;
using StackExchange.Redis;

namespace DaprLlm.Gateway.Tests;

/// <summary>API keys (salted hashes in Dapr state), the admin API and the development first run, on a real sidecar.</summary>
public sealed class AuthenticationTests(SingleGateway gateway) : IClassFixture<SingleGateway>
{
    private static readonly object Chat = new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 8 };

    [Fact]
    public async Task Development_key_from_the_environment_is_seeded_and_accepted()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var admin = gateway.Admin();
        var devKey = await admin.GetFromJsonAsync<JsonElement>("/admin/dev-key", ct);
        Assert.Equal(gateway.DevKey, devKey.GetProperty("key").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer dl-000000000000-000000000000000000000000000000000000000000000000")]
    [InlineData("Bearer not-a-key-at-all-but-long")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task Missing_or_wrong_key_gets_401_invalid_api_key_with_a_request_id(string? authorization)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(key: null);
        client.DefaultRequestHeaders.Authorization = null;
        if (authorization is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }

        foreach (var path in new[] { "/v1/models", "/v2/models" })
        {
            using var response = await client.GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.True(response.Headers.Contains("x-request-id"));
            var error = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
            Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task Admin_creates_a_tenant_and_key_rotation_and_revocation_take_effect_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await gateway.CreateTenantKeyAsync(ct: ct);
        Assert.Matches("^dl-[0-9a-f]{12}-[0-9a-f]{48}$", key);
        var keyId = key[3..15];

        using (var client = gateway.Client(key))
        {
            using var ok = await client.GetAsync("/v1/models", ct);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var admin = gateway.Admin();
        using var rotated = await admin.PostAsync($"/admin/keys/{keyId}/rotate", null, ct);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var newKey = (await rotated.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString()!;
        Assert.NotEqual(key, newKey);

        using (var oldClient = gateway.Client(key))
        {
            using var refused = await oldClient.GetAsync("/v1/models", ct);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var newClient = gateway.Client(newKey))
        {
            using var ok = await newClient.GetAsync("/v1/models", ct);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

            using var revoked = await admin.DeleteAsync($"/admin/keys/{newKey[3..15]}", ct);
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
            using var refused = await newClient.GetAsync("/v1/models", ct);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var tenantId = (await (await admin.GetAsync("/admin/tenants", ct)).Content.ReadFromJsonAsync<JsonElement>(ct))
            .GetProperty("data").EnumerateArray().Select(t => t.GetProperty("id").GetString()).ToList();
        Assert.Contains("dev", tenantId);
    }

    [Fact]
    public async Task A_key_that_passed_once_does_not_let_another_secret_in_under_its_key_id()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await gateway.CreateTenantKeyAsync(ct: ct);
        var forged = key[..^1] + (key[^1] == 'a' ? 'b' : 'a');
        foreach (var (presented, expected) in new[] { (key, HttpStatusCode.OK), (forged, HttpStatusCode.Unauthorized), (key, HttpStatusCode.OK), (forged, HttpStatusCode.Unauthorized) })
        {
            using var client = gateway.Client(presented);
            using var response = await client.GetAsync("/v1/models", ct);
            Assert.Equal(expected, response.StatusCode);
        }
    }

    [Fact]
    public async Task Keys_are_stored_only_as_salted_hashes()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await gateway.CreateTenantKeyAsync(ct: ct);
        var secret = key[16..];

        await using var redis = await ConnectionMultiplexer.ConnectAsync(gateway.Environment.Redis.Address);
        var db = redis.GetDatabase();
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var found = false;
        await foreach (var redisKey in server.KeysAsync(pattern: "*apikey*"))
        {
            var stored = await db.KeyTypeAsync(redisKey) == RedisType.Hash
                ? string.Concat((await db.HashGetAllAsync(redisKey)).Select(e => e.Value.ToString()))
                : (await db.StringGetAsync(redisKey)).ToString();
            Assert.DoesNotContain(secret, stored, StringComparison.Ordinal);
            found |= stored.Contains(key[3..15], StringComparison.Ordinal) && stored.Contains("\"hash\"", StringComparison.Ordinal) && stored.Contains("\"salt\"", StringComparison.Ordinal);
        }

        Assert.True(found, "the key record (id, salt, hash) is in the state store");
    }

    [Fact]
    public async Task The_development_key_is_not_stored_in_clear_but_can_still_be_shown()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(gateway.Environment.Redis.Address);
        var db = redis.GetDatabase();
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var secret = gateway.DevKey[^20..];
        var found = false;
        await foreach (var redisKey in server.KeysAsync(pattern: "*devkey*"))
        {
            var stored = await db.KeyTypeAsync(redisKey) == RedisType.Hash
                ? string.Concat((await db.HashGetAllAsync(redisKey)).Select(e => e.Value.ToString()))
                : (await db.StringGetAsync(redisKey)).ToString();
            Assert.DoesNotContain(secret, stored, StringComparison.Ordinal);
            found |= stored.Contains("aesgcm1:", StringComparison.Ordinal);
        }

        Assert.True(found, "the sealed development key is in the state store");
        using var admin = gateway.Admin();
        Assert.Equal(gateway.DevKey, (await admin.GetFromJsonAsync<JsonElement>("/admin/dev-key", ct)).GetProperty("key").GetString());
    }

    [Fact]
    public async Task The_admin_cli_shows_the_development_key_and_manages_keys()
    {
        var ct = TestContext.Current.CancellationToken;
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var cli = Path.Combine(RepoPaths.Root, "tools", "DaprLlm.Cli", "bin", configuration, "net10.0", "daprllm.dll");

        async Task<(int Exit, string Output)> Run(params string[] args)
        {
            var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "exec", cli, "--gateway-url", gateway.Node.BaseAddress, "--gateway-admin-key", GatewayEnvironment.AdminKey }.Concat(args))
            {
                info.ArgumentList.Add(a);
            }

            using var process = System.Diagnostics.Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync(ct) + await process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            return (process.ExitCode, output);
        }

        var devKey = await Run("keys", "dev");
        Assert.Equal(0, devKey.Exit);
        Assert.Contains(gateway.DevKey, devKey.Output, StringComparison.Ordinal);

        var tenant = $"cli-{Guid.NewGuid():N}"[..16];
        Assert.Equal(0, (await Run("tenants", "create", tenant, "--tier", "pro")).Exit);

        // Models and limits from the command line; a model the gateway does not serve is refused with the API's reason.
        var limited = $"cli-{Guid.NewGuid():N}"[..16];
        var made = await Run("tenants", "create", limited, "--allowed-models", "daprllm-demo", "--requests-per-minute", "7", "--tokens-per-day", "5000");
        Assert.True(made.Exit == 0, made.Output);
        using (var shown = JsonDocument.Parse(made.Output))
        {
            Assert.Equal("daprllm-demo", Assert.Single(shown.RootElement.GetProperty("allowedModels").EnumerateArray()).GetString());
            Assert.Equal(7, shown.RootElement.GetProperty("limits").GetProperty("requestsPerMinute").GetInt32());
            Assert.Equal(5000, shown.RootElement.GetProperty("limits").GetProperty("tokensPerDay").GetInt64());
        }

        var refusedModel = await Run("tenants", "create", $"cli-{Guid.NewGuid():N}"[..16], "--allowed-models", "gpt-9");
        Assert.NotEqual(0, refusedModel.Exit);
        Assert.Contains("gpt-9", refusedModel.Output, StringComparison.Ordinal);
        var created = await Run("keys", "create", "--tenant", tenant);
        Assert.Equal(0, created.Exit);
        var keyId = JsonDocument.Parse(created.Output).RootElement.GetProperty("keyId").GetString()!;
        Assert.Equal(0, (await Run("keys", "revoke", keyId)).Exit);
        var listed = await Run("keys", "list", "--tenant", tenant);
        Assert.Contains("revokedAt\": \"", listed.Output, StringComparison.Ordinal);
        Assert.NotEqual(0, (await Run("keys", "rotate", keyId)).Exit);
    }

    [Fact]
    public async Task Admin_routes_need_the_admin_key()
    {
        var ct = TestContext.Current.CancellationToken;
        using var asTenant = gateway.Client();
        using var refused = await asTenant.GetAsync("/admin/tenants", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var admin = gateway.Admin();
        using var bad = await admin.PostAsJsonAsync("/admin/tenants", new { id = "Bad Id!", tier = "gold" }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
