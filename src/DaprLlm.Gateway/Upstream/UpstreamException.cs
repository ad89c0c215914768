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

    /// <summary>
    /// The call reached its target and was cut by the sidecar's resiliency timeout (daprd and our sidecar answer 500
    /// ERR_DIRECT_INVOKE with Go's "context deadline exceeded").
    /// </summary>
    public bool TimedOut => StatusCode == 500 && Body is { } text && text.Contains("deadline exceeded", StringComparison.Ordinal);
}
