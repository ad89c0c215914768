using Dapr.Client;
using DaprLlm.Audit.Configuration;
using DaprLlm.Contracts;
using Microsoft.Extensions.Options;

namespace DaprLlm.Audit.Trail;

/// <summary>The two HMAC keys the trail needs; they never live in the audit database.</summary>
public sealed record AuditKeys(byte[] CheckpointKey, byte[] PseudonymKey);

public interface IAuditKeySource
{
    Task<AuditKeys> LoadAsync(CancellationToken cancellationToken);
}

/// <summary>Reads the keys from the Dapr secret store (<c>secretstore</c>): a local file locally, Key Vault on AKS.</summary>
public sealed class DaprAuditKeySource(DaprClient dapr, IOptions<AuditOptions> options) : IAuditKeySource
{
    public async Task<AuditKeys> LoadAsync(CancellationToken cancellationToken)
    {
        await dapr.WaitForSidecarAsync(cancellationToken);
        return new AuditKeys(await ReadAsync(options.Value.CheckpointKeySecret, cancellationToken), await ReadAsync(options.Value.PseudonymKeySecret, cancellationToken));
    }

    private async Task<byte[]> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var secret = await dapr.GetSecretAsync(DaprComponents.SecretStore, name, cancellationToken: cancellationToken);
        var value = secret.Values.FirstOrDefault(v => !string.IsNullOrEmpty(v))
            ?? throw new InvalidOperationException($"secret '{name}' in '{DaprComponents.SecretStore}' is empty");
        return System.Text.Encoding.UTF8.GetBytes(value);
    }
}
