using DaprLlm.Sidecar.Components;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>A pub/sub component (pubsub.redis, pubsub.in-memory): publishes bytes to a topic and feeds subscribers.</summary>
public interface IPubSub : IAsyncDisposable
{
    /// <summary>The component this instance was built from (scopes and metadata).</summary>
    ComponentSpec Spec { get; }

    /// <summary>Publishes one message; throws when the broker does not take it.</summary>
    Task PublishAsync(PubSubMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Starts feeding <paramref name="handler"/> with the messages of a topic. A handler that returns normally
    /// acknowledges the message; one that throws leaves it to be redelivered. Disposing the result stops reading and
    /// waits for the handlers in flight.
    /// </summary>
    Task<IAsyncDisposable> SubscribeAsync(string topic, IReadOnlyDictionary<string, string> metadata, PubSubHandler handler, CancellationToken cancellationToken);
}

/// <summary>Processes one message; returning acknowledges it, throwing leaves it for redelivery.</summary>
public delegate Task PubSubHandler(PubSubMessage message, CancellationToken cancellationToken);

/// <summary>A message as it travels through a broker: the (usually CloudEvent) bytes plus metadata.</summary>
public sealed record PubSubMessage(string Topic, ReadOnlyMemory<byte> Data, string? ContentType, IReadOnlyDictionary<string, string> Metadata);
