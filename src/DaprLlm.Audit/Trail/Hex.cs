using System.Text;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// Hex for 32-byte hashes on spans of chars or UTF-8 bytes, without allocating. Built on the runtime's vectorized
/// converters: a hand-written digit loop mispredicted a branch on most digits and cost more than SHA-256 per record.
/// </summary>
internal static class Hex
{
    /// <summary>Parses exactly <c>2 × bytes.Length</c> hex digits (either case).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, Span<byte> bytes) =>
        text.Length == bytes.Length * 2 && Convert.FromHexString(text, bytes, out _, out var written) == System.Buffers.OperationStatus.Done && written == bytes.Length;

    /// <inheritdoc cref="TryParse(ReadOnlySpan{char}, Span{byte})"/>
    public static bool TryParse(ReadOnlySpan<byte> utf8, Span<byte> bytes)
    {
        Span<char> text = stackalloc char[bytes.Length * 2];
        return utf8.Length == text.Length && Ascii.ToUtf16(utf8, text, out _) == System.Buffers.OperationStatus.Done && TryParse(text, bytes);
    }

    /// <summary>True when <paramref name="text"/> is exactly the lowercase hex of <paramref name="bytes"/>.</summary>
    public static bool EqualsLowercase(ReadOnlySpan<byte> bytes, ReadOnlySpan<char> text)
    {
        Span<char> expected = stackalloc char[bytes.Length * 2];
        return Convert.TryToHexStringLower(bytes, expected, out _) && text.SequenceEqual(expected);
    }

    /// <inheritdoc cref="EqualsLowercase(ReadOnlySpan{byte}, ReadOnlySpan{char})"/>
    public static bool EqualsLowercase(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> utf8)
    {
        Span<char> expected = stackalloc char[bytes.Length * 2];
        return Convert.TryToHexStringLower(bytes, expected, out _) && Ascii.Equals(utf8, expected);
    }
}
