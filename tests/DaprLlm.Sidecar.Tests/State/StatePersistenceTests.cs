using Dapr.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace DaprLlm.Sidecar.Tests.State;

/// <summary>What lands in Redis and in the SQLite file, and what survives restarts and sharing, checked directly in the stores.</summary>
public sealed class StatePersistenceTests(RedisServer redis) : IClassFixture<RedisServer>
{
    // CI machines are shared and loaded: a sidecar may take far longer than usual to start.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Redis_keys_are_hashes_laid_out_as_daprd_for_every_key_prefix_strategy()
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        var appId = "layout-" + Guid.NewGuid().ToString("N")[..8];
        folder.Write("components/default.yaml", StateSidecars.StoreYaml("redis", redis.Address, "", "bydefault"));
        folder.Write("components/name.yaml", StateSidecars.StoreYaml("redis", redis.Address, "", "byname", "  - name: keyPrefix\n    value: name"));
        folder.Write("components/none.yaml", StateSidecars.StoreYaml("redis", redis.Address, "", "bynone", "  - name: keyPrefix\n    value: none"));
        folder.Write("components/custom.yaml", StateSidecars.StoreYaml("redis", redis.Address, "", "bycustom", "  - name: keyPrefix\n    value: Shared"));
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId, components, folder.Sub("registry")), StartTimeout);
        using var client = StateSidecars.Client(sidecar);
        var key = "order-" + Guid.NewGuid().ToString("N")[..8];

        foreach (var store in new[] { "bydefault", "byname", "bynone", "bycustom" })
        {
            await client.SaveStateAsync(store, key, new { Total = 7 }, cancellationToken: Ct);
        }

        await client.SaveStateAsync("bydefault", key + "-ttl", 1, metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "100" }, cancellationToken: Ct);
        var (_, etag) = await client.GetStateAndETagAsync<object>("bydefault", key, cancellationToken: Ct);

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var db = connection.GetDatabase();
        foreach (var fullKey in new[] { $"{appId}||{key}", $"byname||{key}", key, $"shared||{key}" })
        {
            Assert.Equal(RedisType.Hash, await db.KeyTypeAsync(fullKey));
            Assert.Equal("""{"total":7}""", (string?)await db.HashGetAsync(fullKey, "data"));
            Assert.Equal("1", (string?)await db.HashGetAsync(fullKey, "version"));
        }

        Assert.Equal("1", etag);
        var ttl = await db.KeyTimeToLiveAsync($"{appId}||{key}-ttl");
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(100));
        Assert.Null(await db.KeyTimeToLiveAsync($"{appId}||{key}"));
    }

    [Fact]
    public async Task Redis_state_survives_a_sidecar_crash_and_restart()
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        folder.Write("components/statestore.yaml", StateSidecars.StoreYaml("redis", redis.Address, ""));
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("restart-redis-" + Guid.NewGuid().ToString("N")[..8], components, folder.Sub("registry")), StartTimeout);
        using var client = StateSidecars.Client(sidecar);
        await client.SaveStateAsync("statestore", "counter", 41, cancellationToken: Ct);
        var (_, etagBefore) = await client.GetStateAndETagAsync<int>("statestore", "counter", cancellationToken: Ct);

        await sidecar.KillAsync();
        await sidecar.RestartAsync(StartTimeout);
        var (value, etagAfter) = await client.GetStateAndETagAsync<int>("statestore", "counter", cancellationToken: Ct);

        Assert.Equal(41, value);
        Assert.Equal(etagBefore, etagAfter);
        Assert.True(await client.TrySaveStateAsync("statestore", "counter", 42, etagAfter, cancellationToken: Ct));

        // Redis may lose its script cache (restart, SCRIPT FLUSH): writes must keep working.
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address))
        {
            await connection.GetDatabase().ExecuteAsync("SCRIPT", "FLUSH");
        }

        await client.SaveStateAsync("statestore", "counter", 43, cancellationToken: Ct);
        Assert.Equal(43, await client.GetStateAsync<int>("statestore", "counter", cancellationToken: Ct));
    }

    [Fact]
    public async Task Sqlite_file_has_daprd_schema_in_wal_mode_and_survives_a_restart()
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        var file = Path.Combine(folder.Path, "data.db");
        folder.Write("components/statestore.yaml", StateSidecars.StoreYaml("sqlite", "", file));
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("sqlite-app", components, folder.Sub("registry")), StartTimeout);
        using var client = StateSidecars.Client(sidecar);
        await client.SaveStateAsync("statestore", "cart", new { Items = 2 }, cancellationToken: Ct);
        await client.SaveStateAsync("statestore", "session", "s", metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "60" }, cancellationToken: Ct);
        var (_, etag) = await client.GetStateAndETagAsync<object>("statestore", "cart", cancellationToken: Ct);
        await sidecar.KillAsync();

        await using (var db = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await db.OpenAsync(Ct);
            Assert.Equal("wal", await Scalar(db, "PRAGMA journal_mode"));
            Assert.Equal("key,value,is_binary,etag,expiration_time,update_time",
                string.Join(",", await Column(db, "SELECT name FROM pragma_table_info('state')")));
            Assert.Equal("1", await Scalar(db, "SELECT value FROM metadata WHERE key = 'migrations'"));
            Assert.Equal("""{"items":2}""", await Scalar(db, "SELECT value FROM state WHERE key = 'sqlite-app||cart'"));
            Assert.Equal(etag, await Scalar(db, "SELECT etag FROM state WHERE key = 'sqlite-app||cart'"));
            Assert.Equal("0", await Scalar(db, "SELECT is_binary FROM state WHERE key = 'sqlite-app||cart'"));
            Assert.Equal("", await Scalar(db, "SELECT ifnull(expiration_time, '') FROM state WHERE key = 'sqlite-app||cart'"));
            Assert.NotEqual("", await Scalar(db, "SELECT ifnull(expiration_time, '') FROM state WHERE key = 'sqlite-app||session'"));
        }

        await sidecar.RestartAsync(StartTimeout);
        var (value, etagAfter) = await client.GetStateAndETagAsync<Dictionary<string, int>>("statestore", "cart", cancellationToken: Ct);

        Assert.Equal(2, value["items"]);
        Assert.Equal(etag, etagAfter);
    }

    [Fact]
    public async Task Two_sidecars_sharing_one_sqlite_file_never_lose_an_optimistic_update()
    {
        using var folder = new TempFolder();
        var components = folder.Sub("components");
        var file = Path.Combine(folder.Path, "shared.db");
        folder.Write("components/statestore.yaml", StateSidecars.StoreYaml("sqlite", "", file));
        var registry = folder.Sub("registry");
        await using var first = await SidecarProcess.StartAsync(new SidecarSettings("replicated-app", components, registry), StartTimeout);
        await using var second = await SidecarProcess.StartAsync(new SidecarSettings("replicated-app", components, registry), StartTimeout);
        using var a = StateSidecars.Client(first);
        using var b = StateSidecars.Client(second);
        await a.SaveStateAsync("statestore", "hits", 0, cancellationToken: Ct);
        const int PerClient = 15;

        await Task.WhenAll(IncrementAsync(a, PerClient), IncrementAsync(b, PerClient));

        Assert.Equal(2 * PerClient, await a.GetStateAsync<int>("statestore", "hits", cancellationToken: Ct));
        Assert.Equal(2 * PerClient, await b.GetStateAsync<int>("statestore", "hits", cancellationToken: Ct));
    }

    private static async Task IncrementAsync(DaprClient client, int times)
    {
        for (var done = 0; done < times;)
        {
            var (value, etag) = await client.GetStateAndETagAsync<int>("statestore", "hits", cancellationToken: Ct);
            if (await client.TrySaveStateAsync("statestore", "hits", value + 1, etag, cancellationToken: Ct))
            {
                done++;
            }
        }
    }

    private static async Task<string> Scalar(SqliteConnection db, string sql)
    {
        await using var command = db.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture) ?? "";
    }

    private static async Task<List<string>> Column(SqliteConnection db, string sql)
    {
        await using var command = db.CreateCommand();
        command.CommandText = sql;
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
