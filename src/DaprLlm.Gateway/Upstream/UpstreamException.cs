namespace DaprLlm.Gateway.Upstream;

/// <summary>An app behind the gateway (through its Dapr sidecar) failed or could not be reached.</summary>
public sealed class UpstreamException(string appId, int? statusCode, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public string AppId { get; } = appId;

    public int? StatusCode { get; } = statusCode;
}
