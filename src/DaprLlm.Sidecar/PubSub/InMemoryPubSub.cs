using System.Collections.Concurrent;
using System.Threading.Channels;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Telemetry;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// pubsub.in-memory: topics live in this sidecar process only (like daprd's in-memory component). A message a
/// handler fails is queued again after <c>redeliverInterval</c> (default 1s); messages are lost when the sidecar stops.
/// </summary>
public sealed class InMemoryPubSub(ComponentSpec spec, TimeProvider time, ILogger logger) : IPubSub
{
    private readonly ConcurrentDictionary<string, ImmutableSubscribers> _topics = new(StringComparer.Ordinal);
    private readonly TimeSpan _redeliver = spec.GetDuration("redeliverInterval", TimeSpan.FromSeconds(1));
    private readonly int _concurrency = spec.GetInt("concurrency", 10);
    private readonly TimeProvider _time = time;
    private readonly ILogger _logger = logger;

    public ComponentSpec Spec => spec;

    public Task PublishAsync(PubSubMessage message, CancellationToken cancellationToken)
    {
        if (_topics.TryGetValue(message.Topic, out var subscribers))
        {
            foreach (var subscriber in subscribers.Items)
            {
                subscriber.Enqueue(message);
            }
        }

        SidecarTelemetry.RecordPubSubEgress(spec.Name, message.Topic, success: true, TimeSpan.Zero);
        return Task.CompletedTask;
    }

    public Task<IAsyncDisposable> SubscribeAsync(string topic, IReadOnlyDictionary<string, string> metadata, PubSubHandler handler, CancellationToken cancellationToken)
    {
        var subscriber = new Subscriber(this, topic, handler);
        _topics.AddOrUpdate(topic, _ => new ImmutableSubscribers([subscriber]), (_, s) => new ImmutableSubscribers([.. s.Items, subscriber]));
        subscriber.Start();
        return Task.FromResult<IAsyncDisposable>(subscriber);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var subscribers in _topics.Values)
        {
            foreach (var subscriber in subscribers.Items)
            {
                await subscriber.DisposeAsync();
            }
        }
    }

    private sealed record ImmutableSubscribers(Subscriber[] Items);

    private sealed class Subscriber(InMemoryPubSub owner, string topic, PubSubHandler handler) : IAsyncDisposable
    {
        private readonly Channel<PubSubMessage> _queue = Channel.CreateUnbounded<PubSubMessage>();
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrencyGate _gate = new(owner._concurrency);
        private Task _loop = Task.CompletedTask;

        public void Enqueue(PubSubMessage message) => _queue.Writer.TryWrite(message);

        public void Start() => _loop = Task.Run(LoopAsync);

        public async ValueTask DisposeAsync()
        {
            owner._topics.AddOrUpdate(topic, _ => new ImmutableSubscribers([]), (_, s) => new ImmutableSubscribers(s.Items.Where(i => i != this).ToArray()));
            await _stop.CancelAsync();
            await _loop.ContinueWith(_ => { }, TaskScheduler.Default);
            await _gate.DrainAsync(TimeSpan.FromSeconds(4));
        }

        private async Task LoopAsync()
        {
            try
            {
                await foreach (var message in _queue.Reader.ReadAllAsync(_stop.Token))
                {
                    await _gate.StartAsync(() => HandleAsync(message), _stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task HandleAsync(PubSubMessage message)
        {
            try
            {
                await handler(message, CancellationToken.None);
            }
            catch (Exception e)
            {
                owner._logger.LogWarning("in-memory pubsub {Name}: message on topic {Topic} not processed ({Error}); redelivering in {Delay}",
                    owner.Spec.Name, topic, e.Message, owner._redeliver);
                _ = RequeueLaterAsync(message);
            }
        }

        private async Task RequeueLaterAsync(PubSubMessage message)
        {
            try
            {
                await Task.Delay(owner._redeliver, owner._time, _stop.Token);
                Enqueue(message);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
