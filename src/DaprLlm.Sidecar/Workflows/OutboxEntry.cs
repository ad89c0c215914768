using Dapr.DurableTask.Protobuf;
using Google.Protobuf;

namespace DaprLlm.Sidecar.Workflows;

/// <summary>What an outbox entry does to its target instance.</summary>
public enum OutboxKind
{
    /// <summary>Index and wake a child whose record the turn created.</summary>
    StartChild,

    /// <summary>Append an event to the target's inbox (SendEvent, a child's end reported to its parent).</summary>
    Deliver,

    /// <summary>Terminate the target (TerminateWorkflow, recursive termination).</summary>
    Terminate,
}

/// <summary>
/// One effect of a committed change on another instance. It is written in the same transaction as the change and
/// removed once done, so a store failure or a crash in between leaves it to be done again (by a retry, or by recovery
/// after a restart): at-least-once, as daprd's reminders give. A receiver drops a delivery it already has, by
/// <see cref="Id"/>, as daprd drops duplicate completions.
/// </summary>
public sealed class OutboxEntry
{
    public required string Id { get; init; }

    public required OutboxKind Kind { get; init; }

    /// <summary>The app whose scope holds the target instance.</summary>
    public required string AppId { get; init; }

    public required string InstanceId { get; init; }

    /// <summary>HistoryEvent protobuf bytes (Deliver).</summary>
    public byte[]? Event { get; init; }

    /// <summary>The termination's output (Terminate).</summary>
    public string? Reason { get; init; }

    public bool Recurse { get; init; }

    public static OutboxEntry StartChild(string appId, string instanceId) =>
        new() { Id = NewId(), Kind = OutboxKind.StartChild, AppId = appId, InstanceId = instanceId };

    public static OutboxEntry Deliver(string appId, string instanceId, HistoryEvent message) =>
        new() { Id = NewId(), Kind = OutboxKind.Deliver, AppId = appId, InstanceId = instanceId, Event = message.ToByteArray() };

    public static OutboxEntry Terminate(string appId, string instanceId, string? reason, bool recurse) =>
        new() { Id = NewId(), Kind = OutboxKind.Terminate, AppId = appId, InstanceId = instanceId, Reason = reason, Recurse = recurse };

    private static string NewId() => Guid.NewGuid().ToString("N");
}
