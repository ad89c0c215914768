using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// Computes record hashes with one reused buffer and JSON writer (one instance per thread or walk, not thread-safe):
/// verify hashes every record, and a fresh writer and buffer per record cost more than SHA-256 itself. The SHA-256
/// context is reused too (an IncrementalHash reset per record rather than a one-shot call that sets one up).
/// </summary>
internal sealed class RecordHasher : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public RecordHasher() => _writer = new Utf8JsonWriter(_buffer, CanonicalJson.WriterOptions);

    /// <summary>SHA-256(previous hash bytes ‖ canonical record) into <paramref name="hash"/>; false when the record has no canonical form.</summary>
    public bool TryHash(ReadOnlySpan<byte> prevHash, AuditEntry entry, long recordedAtMs, Span<byte> hash)
    {
        Begin(prevHash);
        try
        {
            CanonicalJson.WriteRecord(_writer, entry, recordedAtMs);
        }
        catch (ArgumentException)
        {
            // e.g. empty content: no writer ever produced this record, so it cannot match any hash.
            return false;
        }

        return End(hash);
    }

    /// <inheritdoc cref="TryHash(ReadOnlySpan{byte}, AuditEntry, long, Span{byte})"/>
    public bool TryHash(ReadOnlySpan<byte> prevHash, in Utf8Record record, Span<byte> hash)
    {
        Begin(prevHash);
        try
        {
            CanonicalJson.WriteRecord(_writer, record);
        }
        catch (ArgumentException)
        {
            return false;
        }

        return End(hash);
    }

    /// <summary>True when the record's recomputed hash is exactly the stored <paramref name="hash"/> text (64 lowercase hex).</summary>
    public bool Matches(string prevHash, AuditEntry entry, long recordedAtMs, string hash)
    {
        Span<byte> prev = stackalloc byte[32];
        Span<byte> computed = stackalloc byte[32];
        return Hex.TryParse(prevHash, prev) && TryHash(prev, entry, recordedAtMs, computed) && Hex.EqualsLowercase(computed, hash);
    }

    /// <summary><see cref="Matches(string, AuditEntry, long, string)"/> on a row's UTF-8 columns.</summary>
    public bool Matches(ReadOnlySpan<byte> prevHash, in Utf8Record record, ReadOnlySpan<byte> hash)
    {
        Span<byte> prev = stackalloc byte[32];
        Span<byte> computed = stackalloc byte[32];
        if (!Hex.TryParse(prevHash, prev))
        {
            return false;
        }

        // Only well-formed UTF-8 is hashed in place; anything else is hashed as the string a provider would decode.
        var ok = record.IsValidUtf8() ? TryHash(prev, record, computed) : TryHash(prev, record.ToEntry(), record.RecordedAtMs, computed);
        return ok && Hex.EqualsLowercase(computed, hash);
    }

    private void Begin(ReadOnlySpan<byte> prevHash)
    {
        _writer.Reset();
        _buffer.ResetWrittenCount();
        prevHash.CopyTo(_buffer.GetSpan(32));
        _buffer.Advance(32);
    }

    private bool End(Span<byte> hash)
    {
        _writer.Flush();
        _sha256.AppendData(_buffer.WrittenSpan);
        return _sha256.TryGetHashAndReset(hash, out var written) && written == 32;
    }

    public void Dispose()
    {
        _writer.Dispose();
        _sha256.Dispose();
    }
}
