using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Audit;

/// <summary>Audit event publishing (section "Audit"), validated at start.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>Publish request and admin events; off only for benchmarks that measure what publishing costs.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Events waiting for the sidecar; beyond this an event is dropped and logged, never waited for.</summary>
    [Range(16, 1_000_000)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Bulk publish calls in flight at once (a slow sidecar then does not hold back the next batch).</summary>
    [Range(1, 64)]
    public int Publishers { get; set; } = 4;

    /// <summary>
    /// How long the first queued event waits for others before the batch goes out (0: at once). At 1,000 req/s,
    /// 10 ms turns ~2,000 sidecar calls per second into ~200, for an event that is at most 10 ms later in the trail.
    /// </summary>
    [Range(0, 1_000)]
    public int BatchDelayMs { get; set; } = 10;

    /// <summary>Events of one topic sent in one bulk publish call; a busy gateway then makes far fewer sidecar calls.</summary>
    [Range(1, 1_000)]
    public int MaxBatch { get; set; } = 100;
}
