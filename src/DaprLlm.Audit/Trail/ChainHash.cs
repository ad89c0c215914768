namespace DaprLlm.Audit.Trail;

/// <summary>hash = SHA-256(previous hash bytes ‖ canonical JSON of the record), as lowercase hex.</summary>
public static class ChainHash
{
    [ThreadStatic]
    private static RecordHasher? t_hasher;

    private static RecordHasher Hasher => t_hasher ??= new RecordHasher();

    public static string Compute(string prevHash, AuditEntry entry, long recordedAtMs)
    {
        Span<byte> prev = stackalloc byte[32];
        if (!Hex.TryParse(prevHash, prev))
        {
            throw new FormatException("previous hash is not 32 bytes of hex");
        }

        Span<byte> hash = stackalloc byte[32];
        if (!Hasher.TryHash(prev, entry, recordedAtMs, hash))
        {
            throw new ArgumentException("the record has no canonical form (content is not a JSON value)", nameof(entry));
        }

        return Convert.ToHexStringLower(hash);
    }

    /// <summary>
    /// True when <paramref name="prevHash"/> is well-formed and the record's recomputed hash is exactly
    /// <paramref name="hash"/>; a record that cannot be hashed (no canonical form) does not match.
    /// </summary>
    public static bool Matches(string prevHash, AuditEntry entry, long recordedAtMs, string hash) => Hasher.Matches(prevHash, entry, recordedAtMs, hash);

    /// <summary>True when <paramref name="hash"/> is 64 hex characters (anything else cannot be a link).</summary>
    public static bool IsWellFormed(string? hash) => hash is { Length: 64 } && hash.All(Uri.IsHexDigit);

    /// <summary>Builds the records for <paramref name="entries"/> after <paramref name="head"/>.</summary>
    public static List<AuditRecord> Chain(ChainHead head, IReadOnlyList<AuditEntry> entries, long recordedAtMs, out ChainHead newHead)
    {
        var records = new List<AuditRecord>(entries.Count);
        var prev = head;
        foreach (var entry in entries)
        {
            var hash = Compute(prev.Hash, entry, recordedAtMs);
            var record = new AuditRecord(prev.Seq + 1, entry, recordedAtMs, prev.Hash, hash);
            records.Add(record);
            prev = new ChainHead(record.Seq, hash);
        }

        newHead = prev;
        return records;
    }
}
