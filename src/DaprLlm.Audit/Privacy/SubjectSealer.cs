using System.Security.Cryptography;
using System.Text;

namespace DaprLlm.Audit.Privacy;

/// <summary>
/// AES-256-GCM with a per-data-subject key. The event id is authenticated data, so a sealed blob cannot be moved to
/// another record. Destroying the key (erasure) leaves every copy of the blob unreadable.
/// </summary>
public static class SubjectSealer
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(32);

    public static string Seal(byte[] key, string eventId, string plaintext)
    {
        var data = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceSize + data.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, data, output.AsSpan(NonceSize, data.Length), output.AsSpan(NonceSize + data.Length), Encoding.UTF8.GetBytes(eventId));
        return Convert.ToBase64String(output);
    }

    public static string Open(byte[] key, string eventId, string sealedText)
    {
        var input = Convert.FromBase64String(sealedText);
        var length = input.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(input.AsSpan(0, NonceSize), input.AsSpan(NonceSize, length), input.AsSpan(NonceSize + length), plaintext, Encoding.UTF8.GetBytes(eventId));
        return Encoding.UTF8.GetString(plaintext);
    }
}
