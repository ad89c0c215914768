namespace DaprLlm.Outbox;

/// <summary>One stored event: its row, topic, CloudEvent id and the whole CloudEvent as UTF-8 JSON.</summary>
public sealed record OutboxMessage(long Seq, string Topic, string Id, long EnqueuedUnixMs, byte[] CloudEvent);

/// <summary>An event to move to the dead-letter table: how often it was refused, since when (Unix ms), and the last error.</summary>
public sealed record DeadLetter(OutboxMessage Message, int Refusals, long FirstFailedUnixMs, string Error);

/// <summary>Where the drain publishes: one call per topic and batch. Tests put a recorder here.</summary>
public interface IOutboxSink
{
    /// <summary>Publishes <paramref name="messages"/> to <paramref name="topic"/>; returns those the broker refused (they stay queued).</summary>
    Task<IReadOnlyList<OutboxMessage>> PublishAsync(string topic, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken);
}
