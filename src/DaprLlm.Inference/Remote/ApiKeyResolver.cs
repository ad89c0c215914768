using Dapr;
using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Onnx;

namespace DaprLlm.Inference.Remote;

/// <summary>
/// A remote model's API key: from configuration, or from the Dapr secret store (read once, when the model loads;
/// a missing secret fails that model's load like a missing model file).
/// </summary>
public class ApiKeyResolver(IServiceProvider services)
{
    public virtual string Resolve(string id, ModelEntryOptions entry)
    {
        if (entry.ApiKeySecret.Length == 0)
        {
            return entry.ApiKey;
        }

        try
        {
            var dapr = services.GetRequiredService<DaprClient>();
            var secret = dapr.GetSecretAsync(DaprComponents.SecretStore, entry.ApiKeySecret).GetAwaiter().GetResult();
            return secret.TryGetValue(entry.ApiKeySecret, out var key) && key.Length > 0
                ? key
                : throw new ModelLoadException($"model '{id}': the secret '{entry.ApiKeySecret}' is empty in '{DaprComponents.SecretStore}'");
        }
        catch (Exception e) when (e is DaprException or Grpc.Core.RpcException or HttpRequestException)
        {
            throw new ModelLoadException($"model '{id}': cannot read the secret '{entry.ApiKeySecret}' from '{DaprComponents.SecretStore}'", e);
        }
    }
}
