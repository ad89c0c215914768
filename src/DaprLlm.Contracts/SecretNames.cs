namespace DaprLlm.Contracts;

/// <summary>
/// Names of the application secrets in <see cref="DaprComponents.SecretStore"/>. Every name must be valid in every
/// store we ship a component for: Azure Key Vault allows only letters, digits and dashes (no ':' or '_'), and the
/// local file store (components/local/secrets.dev.json) holds them as flat top-level keys.
/// </summary>
public static class SecretNames
{
    /// <summary>The pepper of the gateway's API-key hashes.</summary>
    public const string GatewayApiKeyPepper = "gateway-api-key-pepper";

    /// <summary>The key of the gateway's /admin API.</summary>
    public const string GatewayAdminKey = "gateway-admin-key";

    /// <summary>The key of the safety app's policy admin API.</summary>
    public const string SafetyAdminKey = "safety-admin-key";

    /// <summary>The HMAC key of the audit trail's checkpoints.</summary>
    public const string AuditCheckpointSigningKey = "audit-checkpoint-signing-key";

    /// <summary>The HMAC key of the audit trail's user-id pseudonyms.</summary>
    public const string AuditPseudonymKey = "audit-pseudonym-key";

    /// <summary>Azure Key Vault's rule for secret names, the strictest of our stores.</summary>
    public const string Pattern = "^[0-9a-zA-Z-]{1,127}$";

    /// <summary>Whether <paramref name="name"/> can be a secret in every store we ship a component for.</summary>
    public static bool IsValid(string? name) =>
        name is { Length: >= 1 and <= 127 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
