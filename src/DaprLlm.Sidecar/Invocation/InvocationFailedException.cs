namespace DaprLlm.Sidecar.Invocation;

/// <summary>The target could not be reached (unknown app id, sidecar or app down); reported as ERR_DIRECT_INVOKE.</summary>
public sealed class InvocationFailedException(string message, Exception? inner = null) : Exception(message, inner)
{
    public InvocationFailedException()
        : this("invocation failed")
    {
    }
}
