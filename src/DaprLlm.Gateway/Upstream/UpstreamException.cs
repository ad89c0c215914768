namespace DaprLlm.Gateway.Upstream;

/// <summary>An app behind the gateway (through its Dapr sidecar) failed or could not be reached.</summary>
public sealed class UpstreamException(string appId, int? statusCode, string message, Exception? inner = null, TimeSpan? retryAfter = null, string? body = null)
    : Exception(message, inner)
{
    public string AppId { get; } = appId;

    public int? StatusCode { get; } = statusCode;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>The upstream's error body (OpenAI-shaped for inference); never sent to clients as is except where noted.</summary>
    public string? Body { get; } = body;
}
