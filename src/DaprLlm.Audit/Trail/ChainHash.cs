using System.Buffers;
using System.Security.Cryptography;

namespace DaprLlm.Audit.Trail;

/// <summary>hash = SHA-256(previous hash bytes ‖ canonical JSON of the record), as lowercase hex.</summary>
public static class ChainHash
{
    public static string Compute(string prevHash, AuditEntry entry, long recordedAtMs)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Convert.FromHexString(prevHash, buffer.GetSpan(32), out _, out var written);
        if (written != 32)
        {
            throw new FormatException("previous hash is not 32 bytes of hex");
        }

        buffer.Advance(32);
        CanonicalJson.WriteRecord(buffer, entry, recordedAtMs);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer.WrittenSpan, hash);
        return Convert.ToHexStringLower(hash);
    }

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
