using System.Security.Cryptography;
using System.Text;

namespace DaprLlm.Audit.Privacy;

/// <summary>
/// AES-256-GCM with a per-data-subject key. The event id is authenticated data, so a sealed blob cannot be moved to
/// another record. Destroying the key (erasure) leaves every copy of the blob unreadable.
/// </summary>
public static class SubjectSealer
{
    public const int TagSize = 16;
    private const int NonceSize = 12;

    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(32);

    public static string Seal(byte[] key, string eventId, string plaintext)
    {
        using var aes = new AesGcm(key, TagSize);
        return Seal(aes, Encoding.UTF8.GetBytes(eventId), plaintext);
    }

    /// <summary>Seals with an already keyed cipher (one per record when several fields are sealed).</summary>
    public static string Seal(AesGcm aes, byte[] associatedData, string plaintext)
    {
        var data = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceSize + data.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        aes.Encrypt(nonce, data, output.AsSpan(NonceSize, data.Length), output.AsSpan(NonceSize + data.Length), associatedData);
        return Convert.ToBase64String(output);
    }

    public static string Open(byte[] key, string eventId, string sealedText)
    {
        using var aes = new AesGcm(key, TagSize);
        return Open(aes, Encoding.UTF8.GetBytes(eventId), sealedText);
    }

    public static string Open(AesGcm aes, byte[] associatedData, string sealedText)
    {
        var input = Convert.FromBase64String(sealedText);
        var length = input.Length - NonceSize - TagSize;
        if (length < 0)
        {
            throw new CryptographicException("sealed text is shorter than a nonce and a tag");
        }

        var plaintext = new byte[length];
        aes.Decrypt(input.AsSpan(0, NonceSize), input.AsSpan(NonceSize, length), input.AsSpan(NonceSize + length), plaintext, associatedData);
        return Encoding.UTF8.GetString(plaintext);
    }

    /// <summary>Opens a sealed blob, or null when the key is gone or is not the one it was sealed with (erased).</summary>
    public static string? TryOpen(byte[]? key, string eventId, string sealedText)
    {
        if (key is null)
        {
            return null;
        }

        try
        {
            return Open(key, eventId, sealedText);
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            // A subject who came back after erasure has a new key; what the old key sealed stays unreadable.
            return null;
        }
    }
}
