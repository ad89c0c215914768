using System.Text.Json;
using System.Text.Json.Serialization;
using Dapr.DurableTask.Protobuf;
using Google.Protobuf;

namespace DaprLlm.Sidecar.Workflows;

/// <summary>
/// Everything the engine knows about one workflow instance, stored as one document in the actor state store:
/// metadata, the committed history and the inbox of events not yet shown to the orchestrator. Pending
/// activities and timers are derived from the history, so they survive restarts without a separate queue.
/// </summary>
public sealed class InstanceRecord
{
    public required string InstanceId { get; init; }

    public required string Name { get; set; }

    public string? Version { get; set; }

    public required string ExecutionId { get; set; }

    public OrchestrationStatus Status { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset LastUpdatedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>When set and in the future, the first turn waits until then (scheduled start).</summary>
    public DateTimeOffset? StartAt { get; set; }

    public string? Input { get; set; }

    public string? Output { get; set; }

    public string? CustomStatus { get; set; }

    /// <summary>TaskFailureDetails as protobuf bytes.</summary>
    public byte[]? Failure { get; set; }

    public string? ParentInstanceId { get; set; }

    public string? ParentAppId { get; set; }

    /// <summary>The parent's task id for this child (ParentInstanceInfo.taskScheduledId).</summary>
    public int ParentTaskId { get; set; }

    public Dictionary<string, string> Tags { get; set; } = [];

    /// <summary>HistoryEvent protobuf bytes, committed.</summary>
    public List<byte[]> History { get; set; } = [];

    /// <summary>HistoryEvent protobuf bytes, waiting for the next orchestrator turn.</summary>
    public List<byte[]> Inbox { get; set; } = [];

    /// <summary>Effects on other instances committed with this record and not yet done (see <see cref="OutboxEntry"/>).</summary>
    public List<OutboxEntry> Outbox { get; set; } = [];

    /// <summary>Ids of the latest deliveries from other instances' outboxes, to drop one made again.</summary>
    public List<string> Received { get; set; } = [];

    [JsonIgnore]
    public bool IsTerminal => WorkflowStatus.IsTerminal(Status);

    [JsonIgnore]
    public TaskFailureDetails? FailureDetails
    {
        get => Failure is null ? null : TaskFailureDetails.Parser.ParseFrom(Failure);
        set => Failure = value?.ToByteArray();
    }

    public IEnumerable<HistoryEvent> HistoryEvents() => History.Select(b => HistoryEvent.Parser.ParseFrom(b));

    public IEnumerable<HistoryEvent> InboxEvents() => Inbox.Select(b => HistoryEvent.Parser.ParseFrom(b));

    public void AddHistory(HistoryEvent e) => History.Add(e.ToByteArray());

    public void AddInbox(HistoryEvent e) => Inbox.Add(e.ToByteArray());

    /// <summary>Records a delivery's id; false when it was already received (a duplicate to drop).</summary>
    public bool TryReceive(string deliveryId)
    {
        if (Received.Contains(deliveryId, StringComparer.Ordinal))
        {
            return false;
        }

        // Bounded: a duplicate comes from a sender retrying an entry it could not remove, long before this many others arrive.
        Received.Add(deliveryId);
        if (Received.Count > MaxReceived)
        {
            Received.RemoveRange(0, Received.Count - MaxReceived);
        }

        return true;
    }

    private const int MaxReceived = 1000;

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, SerializerOptions);

    public static InstanceRecord Deserialize(byte[] data) =>
        JsonSerializer.Deserialize<InstanceRecord>(data, SerializerOptions) ?? throw new InvalidDataException("empty workflow instance record");

    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web);
}

/// <summary>Helpers on OrchestrationStatus.</summary>
public static class WorkflowStatus
{
    public static bool IsTerminal(OrchestrationStatus status) => status is OrchestrationStatus.Completed or OrchestrationStatus.Failed
        or OrchestrationStatus.Terminated or OrchestrationStatus.Canceled;
}
