namespace DaprLlm.Sidecar.Resiliency;

/// <summary>
/// The target answered with a non-success HTTP status. daprd hands such answers to its policies as
/// failures; retries honour <c>matching.httpStatusCodes</c>, circuit breakers count them.
/// <see cref="State"/> carries whatever the caller needs to replay the answer when retries give up.
/// </summary>
public sealed class StatusCodeFailureException(int statusCode, object? state = null)
    : Exception($"the target answered with status {statusCode}")
{
    public StatusCodeFailureException()
        : this(500)
    {
    }

    public int StatusCode { get; } = statusCode;

    public object? State { get; } = state;
}
