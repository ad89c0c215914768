using System.Security.Cryptography;
using System.Text;
using Dapr.Client;
using DaprLlm.Contracts;

namespace DaprLlm.Safety.Policies;

/// <summary>
/// The policy admin key, read once from the Dapr secret store (secret <c>safety-admin-key</c>; Key Vault in the
/// cloud) and compared in constant time. No key in the store means the admin API refuses everyone.
/// </summary>
public sealed class AdminKey(DaprClient dapr, ILogger<AdminKey> logger)
{
    public const string SecretName = SecretNames.SafetyAdminKey;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private byte[]? _key;

    public async Task<bool> IsValidAsync(string? presented, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        var key = await GetAsync(cancellationToken);
        return key is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(key, SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
    }

    private async Task<byte[]?> GetAsync(CancellationToken cancellationToken)
    {
        if (_key is not null)
        {
            return _key;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_key is null)
            {
                var secret = await dapr.GetSecretAsync(DaprComponents.SecretStore, SecretName, cancellationToken: cancellationToken);
                if (secret.TryGetValue(SecretName, out var value) && !string.IsNullOrEmpty(value))
                {
                    // Hashes have a fixed length, so the comparison does not leak the key's length.
                    _key = SHA256.HashData(Encoding.UTF8.GetBytes(value));
                }
                else
                {
                    logger.LogWarning("Secret {Secret} is missing from {Store}: the policy admin API refuses every request", SecretName, DaprComponents.SecretStore);
                    return null;
                }
            }

            return _key;
        }
        finally
        {
            _gate.Release();
        }
    }
}
