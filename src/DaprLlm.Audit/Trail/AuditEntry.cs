namespace DaprLlm.Audit.Trail;

/// <summary>
/// What the trail stores for one event, after PII masking and pseudonymization: <paramref name="Content"/> is canonical
/// JSON without PII, <paramref name="Subject"/> the pseudonymized data subject, <paramref name="Sealed"/> the original
/// content encrypted with the subject's key (null when the tenant keeps no originals), <paramref name="RefId"/> the id
/// the event is about (request id, review id) for lookups.
/// </summary>
public sealed record AuditEntry(
    string EventId,
    string EventType,
    string Source,
    string TenantId,
    string Region,
    string? Subject,
    long OccurredAtMs,
    string Content,
    string? Sealed,
    string? RefId = null);

/// <summary>An entry in the chain: its position, when it was written and the hashes that link it.</summary>
public sealed record AuditRecord(long Seq, AuditEntry Entry, long RecordedAtMs, string PrevHash, string Hash);

/// <summary>The last record of a chain (or the anchor it continues from).</summary>
public readonly record struct ChainHead(long Seq, string Hash)
{
    /// <summary>The hash every chain starts from.</summary>
    public const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

    public static ChainHead Genesis => new(0, GenesisHash);
}

/// <summary>A signed statement "the chain of <paramref name="Region"/> had hash <paramref name="Hash"/> at <paramref name="Seq"/>".</summary>
public sealed record Checkpoint(string Region, long Seq, string Hash, long CreatedAtMs, string Signature);

/// <summary>
/// What verify needs of a stored record: its position, its links, and whether its content still hashes to
/// <paramref name="Hash"/> (<paramref name="HashMatches"/>: previous hash well-formed and the recomputed hash equal).
/// </summary>
public readonly record struct ChainLink(long Seq, string PrevHash, string Hash, bool HashMatches);
