using System.Security.Cryptography;
using System.Text;

namespace DaprLlm.Gateway.Tenants;

/// <summary>
/// Keys look like <c>dl-&lt;keyid&gt;-&lt;secret&gt;</c>: the key id (12 hex) is the lookup handle and may be shown,
/// the secret (48 hex, 192 bits) is checked against HMAC-SHA256(pepper, salt ‖ secret). High-entropy secrets
/// need no slow KDF, which keeps verification in the microseconds on the hot path.
/// </summary>
public static class ApiKeyFormat
{
    public const string Prefix = "dl-";
    private const int KeyIdHexLength = 12;
    private const int SecretHexLength = 48;

    public static (string Key, string KeyId, string Secret) Generate()
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(KeyIdHexLength / 2));
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(SecretHexLength / 2));
        return ($"{Prefix}{keyId}-{secret}", keyId, secret);
    }

    /// <summary>
    /// The key id and secret of any presented key. A key of another shape (an operator-chosen development key
    /// from DAPRLLM_DEV_API_KEY) gets a key id derived from its SHA-256, and the whole key is its secret.
    /// </summary>
    public static (string KeyId, string Secret) Split(string key)
    {
        if (TryParse(key, out var keyId, out var secret))
        {
            return (keyId, secret);
        }

        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        return ("x" + digest[..(KeyIdHexLength - 1)], key);
    }

    /// <summary>Splits a presented key; false for anything not shaped like one of ours.</summary>
    public static bool TryParse(ReadOnlySpan<char> key, out string keyId, out string secret)
    {
        keyId = secret = "";
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length != Prefix.Length + KeyIdHexLength + 1 + SecretHexLength)
        {
            return false;
        }

        var id = key.Slice(Prefix.Length, KeyIdHexLength);
        var rest = key[(Prefix.Length + KeyIdHexLength)..];
        if (rest[0] != '-' || !IsHex(id) || !IsHex(rest[1..]))
        {
            return false;
        }

        keyId = id.ToString();
        secret = rest[1..].ToString();
        return true;
    }

    public static string NewSalt() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    public static string Hash(string pepper, string salt, string secret)
    {
        var data = Encoding.UTF8.GetBytes(salt + ":" + secret);
        return Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(pepper), data));
    }

    /// <summary>Fixed-time comparison, so timing does not reveal how much of a hash matched.</summary>
    public static bool Verify(string pepper, ApiKeyRecord record, string secret) =>
        CryptographicOperations.FixedTimeEquals(
            Convert.FromBase64String(Hash(pepper, record.Salt, secret)), Convert.FromBase64String(record.Hash));

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
