using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Outbox;

/// <summary>What happens to a new event when the outbox holds <see cref="OutboxOptions.MaxRows"/> rows.</summary>
public enum OutboxFullMode
{
    /// <summary>The event is refused (logged as an error and counted): the disk stays bounded, the event is lost.</summary>
    Reject,

    /// <summary>The event is stored anyway (logged as an error and counted): nothing is lost, the disk grows past the cap.</summary>
    Keep,
}

/// <summary>SQLite <c>synchronous</c> level of the outbox file.</summary>
public enum OutboxDurability
{
    /// <summary>WAL + synchronous=NORMAL: a committed event survives a process crash (kill -9), not a power loss; no fsync per event.</summary>
    Normal,

    /// <summary>WAL + synchronous=FULL: also survives a power loss or kernel crash, at one fsync per event.</summary>
    Full,
}

/// <summary>Which Dapr API the drain publishes through.</summary>
public enum OutboxSidecarProtocol
{
    /// <summary>HTTP bulk publish with the stored envelopes written as they are (the cheapest: no re-serialization).</summary>
    Http,

    /// <summary>The .NET SDK's gRPC bulk publish (each entry serialized again and copied into protobuf).</summary>
    Grpc,
}

/// <summary>The durable outbox (section "Outbox"), validated at start.</summary>
public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>
    /// Folder of the outbox file. Empty: <c>$DAPRLLM_DATA_DIR/outbox</c>, else <c>data/outbox</c> under the content root.
    /// On Kubernetes an emptyDir keeps it across container restarts; a PersistentVolumeClaim also across pod loss.
    /// </summary>
    public string Directory { get; set; } = "";

    /// <summary>
    /// This replica's name in the file name (<c>{app id}-{instance}.outbox.db</c>): each replica needs its own file.
    /// Empty: the HOSTNAME variable (the pod name on Kubernetes), else the machine name.
    /// </summary>
    public string Instance { get; set; } = "";

    public OutboxDurability Durability { get; set; } = OutboxDurability.Normal;

    /// <summary>Rows the outbox may hold before <see cref="WhenFull"/> applies (about 1 KB each).</summary>
    [Range(16, 100_000_000)]
    public long MaxRows { get; set; } = 1_000_000;

    public OutboxFullMode WhenFull { get; set; } = OutboxFullMode.Reject;

    /// <summary>
    /// Group commit: how long the writer waits, after the first fire-and-forget event of a batch, for others to share its
    /// transaction (0: commit whatever is pending at once). This is also the crash window of <see cref="DurableOutbox.Enqueue"/>:
    /// events accepted less than this long before a kill -9 can be lost. A durable enqueue (or a flush) ends the wait at once.
    /// </summary>
    [Range(0, 60_000)]
    public int CommitWindowMs { get; set; } = 5;

    /// <summary>Group commit: the most events (and drain deletes) one transaction takes; a full batch commits without waiting.</summary>
    [Range(1, 100_000)]
    public int CommitMaxEvents { get; set; } = 256;

    /// <summary>
    /// Events the in-memory hand-off to the writer may hold. When it is full a fire-and-forget event is refused (counted
    /// and logged) and a durable one waits up to <see cref="DurableWaitMs"/>: memory stays bounded either way.
    /// </summary>
    [Range(16, 10_000_000)]
    public int HandoffCapacity { get; set; } = 8_192;

    /// <summary>How long a durable enqueue waits for room in a full hand-off before it is refused (counted and logged).</summary>
    [Range(0, 600_000)]
    public int DurableWaitMs { get; set; } = 2_000;

    /// <summary>
    /// How long the first new event waits for others before a batch is read (0: at once). Per-call costs dominate the
    /// sidecar's share of publishing: at 2,000 events/s, 50 ms (about 100 events per topic and call) cut the sidecar's CPU
    /// per gateway request from 117–139 to 70–92 µs against 10 ms (bench/RESULTS.md), for events at most 50 ms later downstream.
    /// </summary>
    [Range(0, 1_000)]
    public int BatchDelayMs { get; set; } = 50;

    /// <summary>Rows read and published per batch; one bulk publish per topic in it.</summary>
    [Range(1, 1_000)]
    public int MaxBatch { get; set; } = 500;

    /// <summary>Batches in flight at once (a slow sidecar then does not hold back the next batch).</summary>
    [Range(1, 64)]
    public int Publishers { get; set; } = 4;

    /// <summary>
    /// First wait after a failed publish; it doubles per failure up to <see cref="MaxBackoffMs"/>: for the whole outbox when
    /// nothing gets through, for each refused event when others do.
    /// </summary>
    [Range(1, 60_000)]
    public int MinBackoffMs { get; set; } = 200;

    [Range(1, 600_000)]
    public int MaxBackoffMs { get; set; } = 30_000;

    /// <summary>
    /// Refusals after which an event moves to the dead-letter table (outbox_dead: kept, counted, logged). Counted are the
    /// sidecar's 4xx answers (a topic the app is not scoped to) and entries the broker refused while it accepted others
    /// (an oversized event); an unreachable or failing sidecar or broker is retried forever. A refused event is retried
    /// on its own schedule (the backoff above, per event), so it never holds back the others.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxRefusals { get; set; } = 20;

    /// <summary>Dapr API the drain publishes through (both bulk, both keep the stored envelope and its id).</summary>
    public OutboxSidecarProtocol SidecarProtocol { get; set; } = OutboxSidecarProtocol.Http;

    /// <summary>
    /// The sidecar's HTTP endpoint for <see cref="OutboxSidecarProtocol.Http"/>. Empty: where the Dapr SDK looks
    /// (DAPR_HTTP_ENDPOINT, else http://127.0.0.1:DAPR_HTTP_PORT). DAPR_API_TOKEN is sent either way.
    /// </summary>
    public string SidecarHttpEndpoint { get; set; } = "";
}
