using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Outbox;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// Records <see cref="ModerationDecidedV1"/> off the request path: a check appends the event to the safety app's durable
/// outbox (a local SQLite file; never waits for the sidecar, never throws) and the outbox drain publishes it. Once
/// enqueued, a decision survives a crash, a dead sidecar and a refusing broker. The safety app's outbox keeps events
/// beyond its row cap (WhenFull=Keep, logged as an error): a moderation decision is a record that must not be lost, and
/// failing the check instead would make moderation depend on the audit pipeline.
/// </summary>
public sealed class DecisionEventPublisher(DurableOutbox outbox, SafetyTelemetry telemetry)
{
    private long _dropped;

    /// <summary>Events this publisher could not store since it was created (outbox unwritable, or full with WhenFull=Reject).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Stores the event for publishing; false (logged by the outbox, and counted) when it could not be stored.</summary>
    public bool TryEnqueue(ModerationDecidedV1 decided)
    {
        if (outbox.Enqueue(Topics.ModerationDecided, decided) is not null)
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        telemetry.DecisionEventDropped("not_stored");
        return false;
    }
}
