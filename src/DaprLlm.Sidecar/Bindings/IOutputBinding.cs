namespace DaprLlm.Sidecar.Bindings;

/// <summary>A request to an output binding: the operation ("create", "get"...), the data and request metadata.</summary>
public sealed record BindingRequest(string Operation, byte[] Data, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// A binding's answer. <see cref="Error"/> set means the call failed, but daprd still passes the metadata
/// (e.g. statusCode of an HTTP binding) back to the caller.
/// </summary>
public sealed record BindingResponse(byte[] Data, IReadOnlyDictionary<string, string> Metadata, string? Error = null);

/// <summary>An output binding component (bindings.*).</summary>
public interface IOutputBinding
{
    /// <summary>Operations the binding supports, as daprd lists them.</summary>
    IReadOnlyList<string> Operations { get; }

    Task<BindingResponse> InvokeAsync(BindingRequest request, CancellationToken cancellationToken);
}
