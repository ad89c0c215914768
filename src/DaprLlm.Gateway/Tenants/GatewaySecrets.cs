using Dapr.Client;
using DaprLlm.Contracts;

namespace DaprLlm.Gateway.Tenants;

/// <summary>
/// The gateway's secrets from the Dapr secret store <c>secretstore</c>: the key-hash pepper (<c>gateway-api-key-pepper</c>)
/// and the admin key (<c>gateway-admin-key</c>). Loaded once on first use; a missing secret fails loudly.
/// </summary>
public sealed class GatewaySecrets(DaprClient dapr, ILogger<GatewaySecrets> logger)
{
    public const string PepperName = SecretNames.GatewayApiKeyPepper;
    public const string AdminKeyName = SecretNames.GatewayAdminKey;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Values? _values;

    /// <summary>The loaded secret values.</summary>
    public sealed record Values(string Pepper, string AdminKey);

    public async ValueTask<Values> GetAsync(CancellationToken cancellationToken)
    {
        if (_values is { } loaded)
        {
            return loaded;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            _values ??= new Values(await ReadAsync(PepperName, cancellationToken), await ReadAsync(AdminKeyName, cancellationToken));
            return _values;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<string> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var secret = await dapr.GetSecretAsync(DaprComponents.SecretStore, name, cancellationToken: cancellationToken);
        if (!secret.TryGetValue(name, out var value) || string.IsNullOrWhiteSpace(value))
        {
            logger.LogCritical("Secret {Secret} is missing from the {Store} secret store", name, DaprComponents.SecretStore);
            throw new InvalidOperationException($"secret '{name}' is missing from '{DaprComponents.SecretStore}'");
        }

        return value;
    }
}
