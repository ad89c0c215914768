namespace DaprLlm.Safety.Rules;

/// <summary>Decodes standard or URL-safe base64, with or without padding (JWT parts, encoded prompt payloads).</summary>
internal static class Base64Text
{
    public static byte[]? TryDecode(ReadOnlySpan<char> chars)
    {
        if (chars.IsEmpty || chars.Length % 4 == 1)
        {
            return null;
        }

        var padded = (chars.Length + 3) / 4 * 4;
        Span<char> buffer = padded <= 1024 ? stackalloc char[padded] : new char[padded];
        for (var i = 0; i < chars.Length; i++)
        {
            buffer[i] = chars[i] switch
            {
                '-' => '+',
                '_' => '/',
                var c => c,
            };
        }

        buffer[chars.Length..].Fill('=');
        var bytes = new byte[padded / 4 * 3];
        return Convert.TryFromBase64Chars(buffer, bytes, out var written) ? bytes.AsSpan(0, written).ToArray() : null;
    }
}
