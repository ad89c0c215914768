using System.Buffers;
using System.Text;
using System.Text.Json;
using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Tests.Trail;

/// <summary>
/// Verify hashes SQLite's UTF-8 column bytes in place while ingest hashes .NET strings: both must write the very same
/// canonical bytes, whatever the text holds.
/// </summary>
public sealed class RecordHasherTests
{
    public static TheoryData<string> AwkwardText =>
    [
        "", "plain", "quote \" backslash \\ slash /", "<script>&amp;'", "ü é 中文", "emoji 😀 pair", "\t\n\r\b\f \u0001 \u001f \u007f",
        "line \u2028 paragraph \u2029", "replacement \uFFFD", "nbsp\u00a0 soft\u00ad", "+/=", new string('x', 5000),
    ];

    [Theory]
    [MemberData(nameof(AwkwardText))]
    public void The_utf8_and_string_writers_give_the_same_canonical_bytes_for_every_field(string text)
    {
        var entry = new AuditEntry(text, text, text, text, text, text, -42, JsonSerializer.Serialize(new { a = text }), text, text);
        Assert.Equal(Canonical(entry), CanonicalFromUtf8(entry));
        var nulls = entry with { Subject = null, Sealed = null, RefId = null };
        Assert.Equal(Canonical(nulls), CanonicalFromUtf8(nulls));
    }

    [Theory]
    [MemberData(nameof(AwkwardText))]
    public void A_record_matches_its_hash_on_both_paths_and_a_changed_field_does_not(string text)
    {
        var entry = new AuditEntry("evt", "type", text, "t1", "eu", text, 7, """{"n":1}""", null, text);
        var hash = ChainHash.Compute(ChainHead.GenesisHash, entry, 9);
        var hasher = new RecordHasher();
        Assert.True(hasher.Matches(ChainHead.GenesisHash, entry, 9, hash));
        Assert.True(MatchesUtf8(hasher, entry, 9, hash));
        Assert.False(MatchesUtf8(hasher, entry with { Source = text + " " }, 9, hash));
        Assert.False(MatchesUtf8(hasher, entry, 10, hash));
        Assert.False(hasher.Matches(ChainHead.GenesisHash, entry, 9, hash.ToUpperInvariant()));
        Assert.False(MatchesUtf8(hasher, entry, 9, hash.ToUpperInvariant()));
    }

    [Fact]
    public void Content_without_a_canonical_form_matches_no_hash_instead_of_throwing()
    {
        var entry = new AuditEntry("evt", "type", "s", "t1", "eu", null, 7, "", null, null);
        Assert.False(new RecordHasher().Matches(ChainHead.GenesisHash, entry, 9, ChainHead.GenesisHash));
        Assert.False(MatchesUtf8(new RecordHasher(), entry, 9, ChainHead.GenesisHash));
    }

    private static byte[] Canonical(AuditEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>();
        CanonicalJson.WriteRecord(buffer, entry, 1_700_000_000_000);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] CanonicalFromUtf8(AuditEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, CanonicalJson.WriterOptions))
        {
            CanonicalJson.WriteRecord(writer, Utf8(entry, 1_700_000_000_000));
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static bool MatchesUtf8(RecordHasher hasher, AuditEntry entry, long recordedAtMs, string hash) =>
        hasher.Matches(Encoding.UTF8.GetBytes(ChainHead.GenesisHash), Utf8(entry, recordedAtMs), Encoding.UTF8.GetBytes(hash));

    private static Utf8Record Utf8(AuditEntry e, long recordedAtMs) => new()
    {
        EventId = Encoding.UTF8.GetBytes(e.EventId),
        EventType = Encoding.UTF8.GetBytes(e.EventType),
        Source = Encoding.UTF8.GetBytes(e.Source),
        TenantId = Encoding.UTF8.GetBytes(e.TenantId),
        Region = Encoding.UTF8.GetBytes(e.Region),
        Subject = Encoding.UTF8.GetBytes(e.Subject ?? ""),
        SubjectIsNull = e.Subject is null,
        OccurredAtMs = e.OccurredAtMs,
        RecordedAtMs = recordedAtMs,
        Content = Encoding.UTF8.GetBytes(e.Content),
        Sealed = Encoding.UTF8.GetBytes(e.Sealed ?? ""),
        SealedIsNull = e.Sealed is null,
        RefId = Encoding.UTF8.GetBytes(e.RefId ?? ""),
        RefIdIsNull = e.RefId is null,
    };
}
