namespace DaprLlm.Inference.Tokenization;

/// <summary>GPT-2's reversible byte ↔ printable character map that byte-level BPE vocabularies are written in.</summary>
internal static class ByteLevel
{
    public static Dictionary<char, byte> UnicodeToByte()
    {
        var map = new Dictionary<char, byte>();
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            var c = printable ? (char)b : (char)(256 + next++);
            map[c] = (byte)b;
        }

        return map;
    }

    public static byte[] ToBytes(string token, Dictionary<char, byte> unicodeToByte)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            if (!unicodeToByte.TryGetValue(token[i], out bytes[i]))
            {
                throw new ArgumentException($"token '{token}' is not byte-level BPE (character U+{(int)token[i]:X4})");
            }
        }

        return bytes;
    }
}
