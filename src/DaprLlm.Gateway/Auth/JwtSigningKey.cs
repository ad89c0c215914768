using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace DaprLlm.Gateway.Auth;

/// <summary>
/// Parses one configured JWT signing key: "base64:&lt;key&gt;" (HMAC, at least 256 bits as HS256 requires) or an RSA
/// public key in PEM ("PUBLIC KEY" or "RSA PUBLIC KEY"). Options validation uses it at start, so a key that could
/// never verify a token stops the start instead of failing every request.
/// </summary>
public static class JwtSigningKey
{
    private const string Base64Prefix = "base64:";

    /// <summary>The key, or null and why it cannot be used (the configured value is never repeated: it may be a secret).</summary>
    public static SecurityKey? TryParse(string? configured, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(configured))
        {
            problem = "is empty";
            return null;
        }

        return configured.StartsWith(Base64Prefix, StringComparison.Ordinal)
            ? Hmac(configured[Base64Prefix.Length..], out problem)
            : RsaPublicKey(configured, out problem);
    }

    private static SymmetricSecurityKey? Hmac(string base64, out string? problem)
    {
        var bytes = new byte[(base64.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(base64.Trim(), bytes, out var length))
        {
            problem = "is not valid base64 after 'base64:'";
            return null;
        }

        // HS256 refuses shorter keys on every token (IDX10720), which would turn every JWT into a silent 401.
        if (length < 32)
        {
            problem = $"is an HMAC key of {length * 8} bits; HS256 needs at least 256 bits (32 bytes)";
            return null;
        }

        problem = null;
        return new SymmetricSecurityKey(bytes[..length]);
    }

    private static RsaSecurityKey? RsaPublicKey(string pem, out string? problem)
    {
        if (!PemEncoding.TryFind(pem, out var fields))
        {
            problem = "is neither 'base64:<HMAC key>' nor a PEM block";
            return null;
        }

        var label = pem[fields.Label];
        if (label is not ("PUBLIC KEY" or "RSA PUBLIC KEY"))
        {
            problem = label switch
            {
                "CERTIFICATE" => "is a certificate; configure its public key (openssl x509 -pubkey -noout)",
                _ when label.Contains("PRIVATE", StringComparison.Ordinal) => $"is a {label}; configure the public key only",
                _ => $"is a PEM '{label}', not a public key",
            };
            return null;
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            rsa.Dispose();
            problem = "is a PEM public key that is not an RSA key";
            return null;
        }

        problem = null;
        return new RsaSecurityKey(rsa);
    }
}
