using System.Globalization;
using DaprLlm.Sidecar.Components;
using StackExchange.Redis;

namespace DaprLlm.Sidecar.State;

/// <summary>
/// state.redis with daprd's data layout: one hash per key with fields "data" (the value) and "version"
/// (the ETag, incremented by HINCRBY), "first-write" when written with first-write concurrency, TTL by EXPIRE.
/// Every write, single or transactional, is one Lua script that checks all ETags before changing anything,
/// so a stale ETag leaves the whole transaction unapplied.
/// </summary>
public sealed class RedisStateStore : IStateStore, IAsyncDisposable
{
    // ARGV per operation: kind ("set"/"del"), etag ("" for none), data, first-write ("1"/"0"), ttl seconds ("0" keep, "-1" persist).
    private const string WriteScript = """
        local n = #KEYS
        for i = 1, n do
          local b = (i - 1) * 5
          local version = redis.pcall("HGET", KEYS[i], "version")
          if type(version) == "table" then version = false end
          local etag = ARGV[b + 2]
          if etag ~= "" then
            if not version or version ~= etag then
              return redis.error_reply("ETAGMISMATCH " .. (i - 1))
            end
          elseif ARGV[b + 1] == "set" and ARGV[b + 4] == "1" and version then
            return redis.error_reply("ETAGMISMATCH " .. (i - 1))
          end
        end
        for i = 1, n do
          local b = (i - 1) * 5
          local key = KEYS[i]
          if ARGV[b + 1] == "set" then
            local t = redis.call("TYPE", key)["ok"]
            if t ~= "hash" and t ~= "none" then redis.call("DEL", key) end
            redis.call("HSET", key, "data", ARGV[b + 3])
            if ARGV[b + 4] == "1" then redis.call("HSET", key, "first-write", 0) end
            redis.call("HINCRBY", key, "version", 1)
            local ttl = tonumber(ARGV[b + 5])
            if ttl > 0 then redis.call("EXPIRE", key, ttl) elseif ttl < 0 then redis.call("PERSIST", key) end
          else
            redis.call("DEL", key)
          end
        end
        return n
        """;

    private readonly ConnectionMultiplexer _connection;
    private readonly IDatabase _db;
    private readonly TimeSpan? _defaultTtl;
    private byte[]? _writeScriptSha;

    private RedisStateStore(ConnectionMultiplexer connection, int database, bool isActorStateStore, TimeSpan? defaultTtl)
    {
        _connection = connection;
        _db = connection.GetDatabase(database);
        _defaultTtl = defaultTtl;
        IsActorStateStore = isActorStateStore;
        Features = isActorStateStore ? ["ETAG", "TRANSACTIONAL", "TTL", "ACTOR"] : ["ETAG", "TRANSACTIONAL", "TTL"];
    }

    public bool IsActorStateStore { get; }

    public IReadOnlyList<string> Features { get; }

    /// <summary>Connects with daprd's metadata: redisHost, redisUsername, redisPassword, redisDB, enableTLS, ttlInSeconds.</summary>
    public static async Task<RedisStateStore> ConnectAsync(ComponentSpec spec)
    {
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = true,
            ConnectTimeout = (int)spec.GetDuration("dialTimeout", TimeSpan.FromSeconds(5)).TotalMilliseconds,
            Ssl = spec.GetBool("enableTLS"),
            ClientName = "daprllm-sidecar",
        };
        options.EndPoints.Add(spec.Require("redisHost"));
        if (spec.Get("redisPassword") is { Length: > 0 } password)
        {
            options.Password = password;
        }

        if (spec.Get("redisUsername") is { Length: > 0 } user)
        {
            options.User = user;
        }

        var database = spec.GetInt("redisDB", 0);
        var ttl = spec.GetInt("ttlInSeconds", 0);
        var connection = await ConnectionMultiplexer.ConnectAsync(options);
        return new RedisStateStore(connection, database, spec.GetBool("actorStateStore"), ttl == 0 ? null : TimeSpan.FromSeconds(ttl));
    }

    public async Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken) =>
        ToEntry(key, await _db.HashGetAsync(key, ["data", "version"]));

    public async Task<IReadOnlyList<StateEntry?>> BulkGetAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var batch = _db.CreateBatch();
        var reads = keys.Select(k => batch.HashGetAsync(k, ["data", "version"])).ToList();
        batch.Execute();
        var values = await Task.WhenAll(reads);
        return keys.Select((k, i) => ToEntry(k, values[i])).ToList();
    }

    public Task SetAsync(StateSetRequest request, CancellationToken cancellationToken) =>
        TransactAsync([StateOperation.Upsert(request)], cancellationToken);

    public Task DeleteAsync(StateDeleteRequest request, CancellationToken cancellationToken) =>
        TransactAsync([StateOperation.Remove(request)], cancellationToken);

    public async Task TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken)
    {
        var keys = new RedisKey[operations.Count];
        var args = new RedisValue[operations.Count * 5];
        for (var i = 0; i < operations.Count; i++)
        {
            var op = operations[i];
            keys[i] = op.Key;
            var etag = op.Set is { } upsert ? upsert.ETag : op.Delete!.ETag;

            // daprd's Redis ETags are the integer version; anything else is an invalid ETag (400 / InvalidArgument).
            if (!string.IsNullOrEmpty(etag) && !long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                throw new StateETagException(op.Key, invalid: true);
            }

            var b = i * 5;
            args[b] = op.Set is null ? "del" : "set";
            args[b + 1] = etag ?? "";
            args[b + 2] = op.Set is { } set ? set.Value : RedisValue.EmptyString;
            args[b + 3] = op.Set?.Concurrency == StateConcurrency.FirstWrite ? "1" : "0";
            var ttl = op.Set is { } s ? s.Ttl ?? _defaultTtl : null;
            args[b + 4] = ttl switch
            {
                null => "0",
                { } t when t > TimeSpan.Zero => Math.Max(1, (long)Math.Ceiling(t.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
                _ => "-1",
            };
        }

        try
        {
            await EvaluateWriteScriptAsync(keys, args);
        }
        catch (RedisServerException e) when (e.Message.Contains("ETAGMISMATCH", StringComparison.Ordinal))
        {
            var index = int.TryParse(e.Message.Split(' ').Last(), out var i) && i < operations.Count ? i : 0;
            throw new StateETagException(operations[index].Key);
        }
    }

    public async ValueTask DisposeAsync() => await _connection.CloseAsync();

    /// <summary>EVALSHA of the write script, loading it again when Redis lost its script cache (restart, SCRIPT FLUSH).</summary>
    private async Task EvaluateWriteScriptAsync(RedisKey[] keys, RedisValue[] args)
    {
        var sha = _writeScriptSha ??= await _connection.GetServers()[0].ScriptLoadAsync(WriteScript);
        try
        {
            await _db.ScriptEvaluateAsync(sha, keys, args);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            _writeScriptSha = await _connection.GetServers()[0].ScriptLoadAsync(WriteScript);
            await _db.ScriptEvaluateAsync(_writeScriptSha, keys, args);
        }
    }

    private static StateEntry? ToEntry(string key, RedisValue[] fields) =>
        fields[0].IsNull ? null : new StateEntry(key, (byte[])fields[0]!, fields[1].IsNull ? "" : fields[1].ToString());
}

/// <summary>Builds state.redis components.</summary>
public sealed class RedisStateStoreFactory : IComponentFactory
{
    public IReadOnlyCollection<string> Types { get; } = ["state.redis"];

    public async ValueTask<object> CreateAsync(ComponentSpec spec, CancellationToken cancellationToken) =>
        await RedisStateStore.ConnectAsync(spec);
}
