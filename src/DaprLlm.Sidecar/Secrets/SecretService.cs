using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Resiliency;
using Grpc.Core;

namespace DaprLlm.Sidecar.Secrets;

/// <summary>daprd's secrets API errors with their HTTP status and gRPC code.</summary>
public sealed class SecretApiException(int httpStatus, StatusCode grpcCode, string errorCode, string message) : Exception(message)
{
    public int HttpStatus { get; } = httpStatus;

    public StatusCode GrpcCode { get; } = grpcCode;

    public string ErrorCode { get; } = errorCode;
}

/// <summary>What the HTTP and gRPC secrets APIs share: lookup, the Configuration's secret scopes, resiliency.</summary>
public sealed class SecretService(ComponentRegistry registry, IResiliencyPolicies policies)
{
    public async ValueTask<IReadOnlyDictionary<string, string>> GetAsync(string storeName, string name, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var store = Resolve(storeName);
        if (!IsAllowed(storeName, name))
        {
            throw new SecretApiException(403, StatusCode.PermissionDenied, "ERR_PERMISSION_DENIED", $"access denied by policy to get \"{name}\" from \"{storeName}\"");
        }

        try
        {
            var secret = await policies.ComponentOutbound(storeName).ExecuteAsync(ct => store.GetAsync(name, metadata, ct), cancellationToken);
            return secret ?? throw new KeyNotFoundException($"secret {name} not found");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new SecretApiException(500, StatusCode.Internal, "ERR_SECRET_GET", $"failed getting secret with key {name} from secret store {storeName}: {e.Message}");
        }
    }

    public async ValueTask<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> GetBulkAsync(string storeName, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var store = Resolve(storeName);
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> all;
        try
        {
            all = await policies.ComponentOutbound(storeName).ExecuteAsync(ct => store.GetBulkAsync(metadata, ct), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new SecretApiException(500, StatusCode.Internal, "ERR_SECRET_GET", $"failed getting secrets from secret store {storeName}: {e.Message}");
        }

        return all.Where(kv => IsAllowed(storeName, kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    private ISecretStore Resolve(string storeName)
    {
        if (!registry.All<ISecretStore>().Any())
        {
            throw new SecretApiException(500, StatusCode.FailedPrecondition, "ERR_SECRET_STORES_NOT_CONFIGURED", "secret store is not configured");
        }

        return registry.TryGet<ISecretStore>(storeName, out var store)
            ? store
            : throw new SecretApiException(401, StatusCode.InvalidArgument, "ERR_SECRET_STORE_NOT_FOUND", $"failed finding secret store with key {storeName}");
    }

    /// <summary>The Configuration's spec.secrets.scopes rule for this store, evaluated as daprd does.</summary>
    private bool IsAllowed(string storeName, string key)
    {
        if (registry.Configuration["secrets"]?["scopes"] is not JsonArray scopes)
        {
            return true;
        }

        var scope = scopes.OfType<JsonObject>().FirstOrDefault(s => s["storeName"]?.GetValue<string>() == storeName);
        if (scope is null)
        {
            return true;
        }

        static List<string> List(JsonNode? node) => node is JsonArray a ? a.Select(n => n?.GetValue<string>() ?? "").ToList() : [];
        var allowed = List(scope["allowedSecrets"]);
        if (allowed.Count > 0)
        {
            return allowed.Contains(key, StringComparer.Ordinal);
        }

        if (List(scope["deniedSecrets"]).Contains(key, StringComparer.Ordinal))
        {
            return false;
        }

        return !string.Equals(scope["defaultAccess"]?.GetValue<string>(), "deny", StringComparison.OrdinalIgnoreCase);
    }
}
