namespace DaprLlm.Sidecar.Bindings;

/// <summary>
/// A binding answered with an error (e.g. bindings.http got a non-2xx status). Thrown inside the resiliency
/// pipeline so that every such error is retried, as daprd's runner retries any error from Invoke, and
/// carries the answer so the endpoints can still emit its metadata when the retries give up.
/// </summary>
public sealed class BindingFailedException(BindingResponse response) : Exception(response.Error)
{
    public BindingFailedException()
        : this(new BindingResponse([], new Dictionary<string, string>(), "binding failed"))
    {
    }

    public BindingResponse Response { get; } = response;
}
