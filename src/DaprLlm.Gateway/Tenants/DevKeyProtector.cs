using System.Security.Cryptography;
using System.Text;

namespace DaprLlm.Gateway.Tenants;

/// <summary>
/// The development key must stay retrievable (GET /admin/dev-key) but never sit in clear in the state store:
/// it is sealed with AES-GCM under a key derived from the gateway's pepper secret (secret store, never in state).
/// </summary>
public static class DevKeyProtector
{
    private const string Prefix = "aesgcm1:";

    public static bool IsSealed(string stored) => stored.StartsWith(Prefix, StringComparison.Ordinal);

    public static string Seal(string pepper, string devKey)
    {
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var plain = Encoding.UTF8.GetBytes(devKey);
        var cipher = new byte[plain.Length];
        var tag = new byte[AesGcm.TagByteSizes.MaxSize];
        using var aes = new AesGcm(Key(pepper), tag.Length);
        aes.Encrypt(nonce, plain, cipher, tag);
        return Prefix + Convert.ToBase64String([.. nonce, .. tag, .. cipher]);
    }

    /// <summary>The key, or null when the stored value is not a sealed key (or was sealed under another pepper).</summary>
    public static string? Open(string pepper, string stored)
    {
        if (!stored.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            var data = Convert.FromBase64String(stored[Prefix.Length..]);
            var nonceSize = AesGcm.NonceByteSizes.MaxSize;
            var tagSize = AesGcm.TagByteSizes.MaxSize;
            var plain = new byte[data.Length - nonceSize - tagSize];
            using var aes = new AesGcm(Key(pepper), tagSize);
            aes.Decrypt(data.AsSpan(0, nonceSize), data.AsSpan(nonceSize + tagSize), data.AsSpan(nonceSize, tagSize), plain);
            return Encoding.UTF8.GetString(plain);
        }
        catch (Exception e) when (e is FormatException or CryptographicException or ArgumentException)
        {
            return null;
        }
    }

    private static byte[] Key(string pepper) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(pepper), 32, info: "daprllm-dev-key"u8.ToArray());
}
