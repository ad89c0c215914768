using Dapr.Client;
using DaprLlm.Contracts;

namespace DaprLlm.Gateway.Tenants;

/// <summary>
/// The gateway's secrets from the Dapr secret store <c>secretstore</c>: the key-hash pepper (<c>gateway-api-key-pepper</c>)
/// and the admin key (<c>gateway-admin-key</c>). Read on first use and again once <see cref="RefreshEvery"/> has passed,
/// so a leaked admin key replaced in the store stops working on every replica within that time, without a restart.
/// A missing secret fails loudly on the first read; when a later re-read fails, the last values are kept.
/// </summary>
public sealed class GatewaySecrets(DaprClient dapr, TimeProvider time, ILogger<GatewaySecrets> logger)
{
    public const string PepperName = SecretNames.GatewayApiKeyPepper;
    public const string AdminKeyName = SecretNames.GatewayAdminKey;

    /// <summary>How long read values are used before the store is read again.</summary>
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromMinutes(1);

    // After a failed re-read: soon enough to pick up a rotation, rare enough not to hammer a sidecar that is down.
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Loaded? _loaded;

    /// <summary>The loaded secret values.</summary>
    public sealed record Values(string Pepper, string AdminKey);

    private sealed record Loaded(Values Values, DateTimeOffset Until);

    public async ValueTask<Values> GetAsync(CancellationToken cancellationToken)
    {
        if (_loaded is { } loaded && loaded.Until > time.GetUtcNow())
        {
            return loaded.Values;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var current = _loaded;
            var now = time.GetUtcNow();
            if (current is not null && current.Until > now)
            {
                return current.Values;
            }

            try
            {
                var values = new Values(await ReadAsync(PepperName, cancellationToken), await ReadAsync(AdminKeyName, cancellationToken));
                _loaded = new Loaded(values, now + RefreshEvery);
                return values;
            }
            catch (Exception e) when (current is not null && e is not OperationCanceledException)
            {
                logger.LogWarning("Re-reading the gateway secrets failed ({Error}); the values read before stay in use", e.GetType().Name);
                _loaded = current with { Until = now + RetryAfter };
                return current.Values;
            }
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
