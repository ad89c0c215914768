using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Hosting;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>Builds pubsub.redis (Redis Streams) components.</summary>
public sealed class RedisPubSubFactory(SidecarOptions options, TimeProvider time, ILoggerFactory loggers) : IComponentFactory
{
    public IReadOnlyCollection<string> Types { get; } = ["pubsub.redis"];

    public async ValueTask<object> CreateAsync(ComponentSpec spec, CancellationToken cancellationToken) =>
        await RedisStreamsPubSub.ConnectAsync(spec, options.AppId, time, loggers.CreateLogger<RedisStreamsPubSub>());
}

/// <summary>Builds pubsub.in-memory components.</summary>
public sealed class InMemoryPubSubFactory(TimeProvider time, ILoggerFactory loggers) : IComponentFactory
{
    public IReadOnlyCollection<string> Types { get; } = ["pubsub.in-memory"];

    public ValueTask<object> CreateAsync(ComponentSpec spec, CancellationToken cancellationToken) =>
        ValueTask.FromResult<object>(new InMemoryPubSub(spec, time, loggers.CreateLogger<InMemoryPubSub>()));
}
