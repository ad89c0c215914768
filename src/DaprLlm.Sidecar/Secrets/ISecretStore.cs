namespace DaprLlm.Sidecar.Secrets;

/// <summary>A secret store component (secretstores.*).</summary>
public interface ISecretStore
{
    /// <summary>One secret as key/value pairs, or null when it does not exist.</summary>
    ValueTask<IReadOnlyDictionary<string, string>?> GetAsync(string name, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken);

    /// <summary>Every secret the store holds.</summary>
    ValueTask<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> GetBulkAsync(IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken);
}
