using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Resiliency;

namespace DaprLlm.Sidecar.Bindings;

/// <summary>daprd's SendToOutputBinding: finds the binding, checks the operation, runs it under the component's outbound policy.</summary>
public sealed class BindingService(ComponentRegistry registry, IResiliencyPolicies policies)
{
    /// <summary>Invokes <paramref name="name"/>; a failure comes back as <see cref="BindingResponse.Error"/> or an exception message.</summary>
    public async Task<(BindingResponse? Response, string? Error)> InvokeAsync(string name, BindingRequest request, CancellationToken cancellationToken)
    {
        if (request.Operation.Length == 0)
        {
            return (null, "operation field is missing from request");
        }

        if (!registry.TryGet<IOutputBinding>(name, out var binding))
        {
            return (null, $"couldn't find output binding {name}");
        }

        if (!binding.Operations.Contains(request.Operation, StringComparer.Ordinal))
        {
            return (null, $"binding {name} does not support operation {request.Operation}. supported operations:{string.Join(" ", binding.Operations)}");
        }

        try
        {
            var response = await policies.ComponentOutbound(name).ExecuteAsync(async ct =>
            {
                // daprd's runner retries any error of the binding, a 4xx of bindings.http included.
                var r = await binding.InvokeAsync(request, ct);
                return r.Error is null ? r : throw new BindingFailedException(r);
            }, cancellationToken);
            return (response, null);
        }
        catch (BindingFailedException e)
        {
            // As daprd: the last answer's metadata (statusCode, status, headers) still reaches the caller.
            return (e.Response, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return (null, e.Message);
        }
    }
}
