using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Outbox;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// Records <see cref="ModerationDecidedV1"/> durably: a check awaits the event's commit to the safety app's outbox (a
/// local SQLite file; the outbox's writer commits at once for a durable event, together with whatever else is pending)
/// and the outbox drain publishes it. It never waits for the sidecar and never throws. Once stored, a decision survives
/// a kill -9, a dead sidecar and a refusing broker. The safety app's outbox keeps events beyond its row cap
/// (WhenFull=Keep, logged as an error): a moderation decision is a record that must not be lost, and failing the check
/// instead would make moderation depend on the audit pipeline.
/// </summary>
public sealed class DecisionEventPublisher(DurableOutbox outbox, SafetyTelemetry telemetry)
{
    private long _dropped;

    /// <summary>Events this publisher could not store since it was created (outbox unwritable, hand-off full, or full with WhenFull=Reject).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Stores the event and completes once it is committed; false (logged by the outbox, and counted) when it could not be stored.</summary>
    public async Task<bool> TryEnqueueAsync(ModerationDecidedV1 decided)
    {
        if (await outbox.EnqueueDurableAsync(Topics.ModerationDecided, decided) is not null)
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        telemetry.DecisionEventDropped("not_stored");
        return false;
    }
}
