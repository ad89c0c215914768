using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Telemetry;
using StackExchange.Redis;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// pubsub.redis on Redis Streams, as components-contrib does it: XADD to a stream named after the topic, one
/// consumer group per <c>consumerID</c> (default: the app id), XREADGROUP, XACK once the handler succeeded.
/// Entries left pending (handler failed, app or sidecar crashed) are claimed again with XAUTOCLAIM once idle for
/// <c>processingTimeout</c> (default 60s), checked right after subscribing and then every <c>redeliverInterval</c>
/// (default 15s); either set to 0 turns redelivery off.
/// </summary>
public sealed class RedisStreamsPubSub : IPubSub
{
    private const string DataField = "data";
    private const string MetadataField = "metadata";
    private static readonly IReadOnlyDictionary<string, string> NoMetadata = new Dictionary<string, string>();

    private readonly ConnectionMultiplexer _connection;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _consumerId;
    private readonly Redelivery _redelivery;
    private readonly int _queueDepth;
    private readonly int _concurrency;
    private readonly long _maxLenApprox;
    private readonly ConcurrentBag<Subscription> _subscriptions = [];

    private RedisStreamsPubSub(ComponentSpec spec, ConnectionMultiplexer connection, string appId, TimeProvider time, ILogger logger)
    {
        Spec = spec;
        _connection = connection;
        _time = time;
        _logger = logger;
        _consumerId = spec.GetOrDefault("consumerID", appId);
        _redelivery = Redelivery.Read(spec);
        _queueDepth = Math.Max(1, spec.GetInt("queueDepth", 100));
        _concurrency = Math.Max(1, spec.GetInt("concurrency", 10));
        _maxLenApprox = spec.GetInt("maxLenApprox", 0);
    }

    public ComponentSpec Spec { get; }

    /// <summary>
    /// processingTimeout and redeliverInterval as contrib reads them: defaults 60s and 15s, redelivery off when either
    /// is zero, and a bare number in milliseconds ("for legacy reasons": "600000" is 10 minutes), where our duration
    /// parser would read seconds; anything else ("30s", "PT1M") is a duration as usual.
    /// </summary>
    private readonly record struct Redelivery(TimeSpan ProcessingTimeout, TimeSpan Interval)
    {
        public bool Enabled => ProcessingTimeout > TimeSpan.Zero && Interval > TimeSpan.Zero;

        public static Redelivery Read(ComponentSpec spec) =>
            new(Duration(spec, "processingTimeout", TimeSpan.FromSeconds(60)), Duration(spec, "redeliverInterval", TimeSpan.FromSeconds(15)));

        private static TimeSpan Duration(ComponentSpec spec, string key, TimeSpan fallback)
        {
            if (spec.Get(key) is not { Length: > 0 } text || !text.All(char.IsAsciiDigit))
            {
                return spec.GetDuration(key, fallback);
            }

            return DaprDuration.TryParse(text + "ms", out var value)
                ? value
                : throw new ComponentConfigException(spec, $"metadata '{key}' has value '{text}', expected a duration");
        }
    }

    /// <summary>Connects to <c>redisHost</c> and checks the server answers (daprd fails init otherwise).</summary>
    public static async Task<RedisStreamsPubSub> ConnectAsync(ComponentSpec spec, string appId, TimeProvider time, ILogger logger)
    {
        var options = ConfigurationOptions.Parse(spec.Require("redisHost"));
        options.Password = spec.Get("redisPassword") is { Length: > 0 } password ? password : options.Password;
        options.User = spec.Get("redisUsername") is { Length: > 0 } user ? user : options.User;
        options.DefaultDatabase = spec.GetInt("redisDB", 0);
        options.Ssl = spec.GetBool("enableTLS");
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 5000;
        var connection = await ConnectionMultiplexer.ConnectAsync(options);
        try
        {
            await connection.GetDatabase().PingAsync();
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        return new RedisStreamsPubSub(spec, connection, appId, time, logger);
    }

    public async Task PublishAsync(PubSubMessage message, CancellationToken cancellationToken)
    {
        // The envelope is usually a whole array already (CloudEvents.Create): no second copy.
        var data = MemoryMarshal.TryGetArray(message.Data, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : message.Data.ToArray();
        var fields = message.Metadata.Count == 0
            ? new[] { new NameValueEntry(DataField, data) }
            : [new NameValueEntry(DataField, data), new NameValueEntry(MetadataField, JsonSerializer.Serialize(message.Metadata))];
        var started = Stopwatch.GetTimestamp();
        var success = false;
        try
        {
            await _connection.GetDatabase().StreamAddAsync(message.Topic, fields, messageId: null,
                maxLength: _maxLenApprox > 0 ? (int)_maxLenApprox : null, useApproximateMaxLength: _maxLenApprox > 0);
            success = true;
        }
        finally
        {
            SidecarTelemetry.RecordPubSubEgress(Spec.Name, message.Topic, success, Stopwatch.GetElapsedTime(started));
        }
    }

    public async Task<IAsyncDisposable> SubscribeAsync(string topic, IReadOnlyDictionary<string, string> metadata, PubSubHandler handler, CancellationToken cancellationToken)
    {
        await EnsureGroupAsync(topic);
        var subscription = new Subscription(this, topic, handler);
        subscription.Start();
        _subscriptions.Add(subscription);
        return subscription;
    }

    private async Task EnsureGroupAsync(string topic)
    {
        try
        {
            // Position 0: a new group also sees entries published before it first subscribed (contrib does the same).
            await _connection.GetDatabase().StreamCreateConsumerGroupAsync(topic, _consumerId, StreamPosition.Beginning, createStream: true);
        }
        catch (RedisServerException e) when (e.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var subscription in _subscriptions)
        {
            await subscription.DisposeAsync();
        }

        try
        {
            // Acks are fire-and-forget: a PING answered on the same connection means Redis has processed them all.
            await _connection.GetDatabase().PingAsync();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
        }

        await _connection.DisposeAsync();
    }

    private sealed class Subscription(RedisStreamsPubSub owner, string topic, PubSubHandler handler) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrencyGate _gate = new(owner._concurrency);
        private readonly ConcurrentDictionary<string, byte> _inFlight = new(StringComparer.Ordinal);
        private Task _readLoop = Task.CompletedTask;
        private Task _reclaimLoop = Task.CompletedTask;
        private int _disposed;

        private IDatabase Db => owner._connection.GetDatabase();

        public void Start()
        {
            _readLoop = Task.Run(ReadLoopAsync);
            if (owner._redelivery.Enabled)
            {
                _reclaimLoop = Task.Run(ReclaimLoopAsync);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            await _stop.CancelAsync();
            await Task.WhenAll(_readLoop, _reclaimLoop).ContinueWith(_ => { }, TaskScheduler.Default);

            // Let deliveries already sent to the app finish and be acknowledged; the rest stay pending in Redis.
            await _gate.DrainAsync(TimeSpan.FromSeconds(4));
        }

        private async Task ReadLoopAsync()
        {
            var idle = 0;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    // StackExchange.Redis multiplexes one connection, so it cannot BLOCK: poll, backing off to 16ms while idle.
                    var entries = await Db.StreamReadGroupAsync(topic, owner._consumerId, owner._consumerId, StreamPosition.NewMessages, owner._queueDepth);
                    if (entries.Length == 0)
                    {
                        idle = Math.Min(idle + 1, 4);
                        await Task.Delay(TimeSpan.FromMilliseconds(1 << idle), owner._time, _stop.Token);
                        continue;
                    }

                    idle = 0;
                    foreach (var entry in entries)
                    {
                        await DispatchAsync(entry);
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (RedisServerException e) when (e.Message.Contains("NOGROUP", StringComparison.Ordinal))
                {
                    // The stream or group was deleted (or Redis lost its data): create them again.
                    owner._logger.LogWarning("redis pubsub {Name}: consumer group of topic {Topic} is gone; creating it again", owner.Spec.Name, topic);
                    try
                    {
                        await owner.EnsureGroupAsync(topic);
                    }
                    catch (Exception again) when (again is RedisException or TimeoutException)
                    {
                        owner._logger.LogWarning("redis pubsub {Name}: creating the group of {Topic} failed: {Error}", owner.Spec.Name, topic, again.Message);
                        await DelayQuietlyAsync(TimeSpan.FromSeconds(1));
                    }
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    owner._logger.LogWarning("redis pubsub {Name}: reading topic {Topic} failed: {Error}", owner.Spec.Name, topic, e.Message);
                    await DelayQuietlyAsync(TimeSpan.FromSeconds(1));
                }
            }
        }

        private async Task ReclaimLoopAsync()
        {
            // The first pass runs at once, as contrib's: entries a crashed sidecar left pending need not wait an interval.
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    RedisValue start = "0-0";
                    do
                    {
                        var result = await Db.StreamAutoClaimAsync(topic, owner._consumerId, owner._consumerId,
                            (long)owner._redelivery.ProcessingTimeout.TotalMilliseconds, start, owner._queueDepth);
                        if (result.DeletedIds.Length > 0)
                        {
                            // Trimmed away (maxLenApprox) while pending: nothing left to deliver.
                            await Db.StreamAcknowledgeAsync(topic, owner._consumerId, result.DeletedIds);
                        }

                        foreach (var entry in result.ClaimedEntries)
                        {
                            if (!entry.IsNull && !_inFlight.ContainsKey(entry.Id!))
                            {
                                await DispatchAsync(entry);
                            }
                        }

                        start = result.NextStartId;
                    }
                    while (start != "0-0" && !_stop.IsCancellationRequested);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    owner._logger.LogWarning("redis pubsub {Name}: reclaiming pending entries of {Topic} failed: {Error}", owner.Spec.Name, topic, e.Message);
                }

                await DelayQuietlyAsync(owner._redelivery.Interval);
            }
        }

        private async Task DispatchAsync(StreamEntry entry)
        {
            var id = entry.Id.ToString();
            if (!_inFlight.TryAdd(id, 0))
            {
                return;
            }

            try
            {
                await _gate.StartAsync(() => HandleAsync(id, entry), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                _inFlight.TryRemove(id, out _);
                throw;
            }
        }

        private async Task HandleAsync(string id, StreamEntry entry)
        {
            try
            {
                var message = ToMessage(entry);
                await handler(message, CancellationToken.None);

                // Sent after the app answered, but its reply is not awaited: no task completion and continuation per
                // message. An ack lost with the connection leaves the entry pending, so it is delivered again, which
                // at-least-once allows (the same as a crash between the app's answer and the ack).
                Db.StreamAcknowledge(topic, owner._consumerId, id, CommandFlags.FireAndForget);
            }
            catch (Exception e)
            {
                // Not acknowledged: the entry stays pending and the reclaim loop delivers it again.
                owner._logger.LogWarning("redis pubsub {Name}: entry {Id} of topic {Topic} not processed ({Error}); it will be redelivered after {Timeout}",
                    owner.Spec.Name, id, topic, e.Message, owner._redelivery.ProcessingTimeout);
            }
            finally
            {
                _inFlight.TryRemove(id, out _);
            }
        }

        private PubSubMessage ToMessage(StreamEntry entry)
        {
            byte[] data = [];
            IReadOnlyDictionary<string, string> metadata = NoMetadata;
            foreach (var field in entry.Values)
            {
                if (field.Name == DataField)
                {
                    data = (byte[])field.Value! ?? [];
                }
                else if (field.Name == MetadataField && field.Value.HasValue)
                {
                    metadata = ReadMetadata(entry.Id, field.Value);
                }
            }

            return new PubSubMessage(topic, data, null, metadata);
        }

        /// <summary>
        /// The metadata field, or none when it is not a JSON map of strings: contrib logs that and delivers the entry
        /// without metadata. Throwing would leave the entry pending, to fail again on every redelivery.
        /// </summary>
        private IReadOnlyDictionary<string, string> ReadMetadata(RedisValue id, RedisValue value)
        {
            try
            {
                return JsonSerializer.Deserialize<Dictionary<string, string>>(value.ToString()) ?? NoMetadata;
            }
            catch (JsonException e)
            {
                owner._logger.LogWarning("redis pubsub {Name}: could not read the metadata of entry {Id} on topic {Topic}, delivering it without: {Error}",
                    owner.Spec.Name, id, topic, e.Message);
                return NoMetadata;
            }
        }

        private async Task DelayQuietlyAsync(TimeSpan delay)
        {
            try
            {
                await Task.Delay(delay, owner._time, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
