namespace DaprLlm.Audit.Trail;

/// <summary>
/// The hashed fields of one stored record as the UTF-8 bytes the database returns, borrowed for the duration of one
/// row (verify hashes them in place instead of decoding every column to a string). A null column has its flag set.
/// </summary>
internal ref struct Utf8Record
{
    public ReadOnlySpan<byte> EventId;
    public ReadOnlySpan<byte> EventType;
    public ReadOnlySpan<byte> Source;
    public ReadOnlySpan<byte> TenantId;
    public ReadOnlySpan<byte> Region;
    public ReadOnlySpan<byte> Subject;
    public bool SubjectIsNull;
    public long OccurredAtMs;
    public long RecordedAtMs;
    public ReadOnlySpan<byte> Content;
    public ReadOnlySpan<byte> Sealed;
    public bool SealedIsNull;
    public ReadOnlySpan<byte> RefId;
    public bool RefIdIsNull;

    /// <summary>True when every text column is well-formed UTF-8 (the condition for hashing the bytes as they are).</summary>
    public readonly bool IsValidUtf8() =>
        Valid(EventId) && Valid(EventType) && Valid(Source) && Valid(TenantId) && Valid(Region) && Valid(Subject) && Valid(Content) && Valid(Sealed) && Valid(RefId);

    private static bool Valid(ReadOnlySpan<byte> text) => System.Text.Unicode.Utf8.IsValid(text);

    /// <summary>The record as strings, decoded as ADO.NET providers decode (ill-formed bytes become U+FFFD).</summary>
    public readonly AuditEntry ToEntry() => new(
        Text(EventId), Text(EventType), Text(Source), Text(TenantId), Text(Region), SubjectIsNull ? null : Text(Subject),
        OccurredAtMs, Text(Content), SealedIsNull ? null : Text(Sealed), RefIdIsNull ? null : Text(RefId));

    private static string Text(ReadOnlySpan<byte> utf8) => System.Text.Encoding.UTF8.GetString(utf8);
}
