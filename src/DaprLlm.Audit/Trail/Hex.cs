namespace DaprLlm.Audit.Trail;

/// <summary>Hex for 32-byte hashes on spans of chars or UTF-8 bytes, without allocating.</summary>
internal static class Hex
{
    public static bool TryParse(ReadOnlySpan<char> text, Span<byte> bytes, bool lowercaseOnly)
    {
        if (text.Length != bytes.Length * 2)
        {
            return false;
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            var high = Digit(text[2 * i], lowercaseOnly);
            var low = Digit(text[2 * i + 1], lowercaseOnly);
            if ((high | low) < 0)
            {
                return false;
            }

            bytes[i] = (byte)((high << 4) | low);
        }

        return true;
    }

    public static bool TryParse(ReadOnlySpan<byte> utf8, Span<byte> bytes, bool lowercaseOnly)
    {
        if (utf8.Length != bytes.Length * 2)
        {
            return false;
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            var high = Digit((char)utf8[2 * i], lowercaseOnly);
            var low = Digit((char)utf8[2 * i + 1], lowercaseOnly);
            if ((high | low) < 0)
            {
                return false;
            }

            bytes[i] = (byte)((high << 4) | low);
        }

        return true;
    }

    /// <summary>True when <paramref name="text"/> is exactly the lowercase hex of <paramref name="bytes"/>.</summary>
    public static bool EqualsLowercase(ReadOnlySpan<byte> bytes, ReadOnlySpan<char> text)
    {
        Span<byte> parsed = stackalloc byte[bytes.Length];
        return TryParse(text, parsed, lowercaseOnly: true) && parsed.SequenceEqual(bytes);
    }

    /// <inheritdoc cref="EqualsLowercase(ReadOnlySpan{byte}, ReadOnlySpan{char})"/>
    public static bool EqualsLowercase(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> utf8)
    {
        Span<byte> parsed = stackalloc byte[bytes.Length];
        return TryParse(utf8, parsed, lowercaseOnly: true) && parsed.SequenceEqual(bytes);
    }

    private static int Digit(char c, bool lowercaseOnly) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' when !lowercaseOnly => c - 'A' + 10,
        _ => -1,
    };
}
