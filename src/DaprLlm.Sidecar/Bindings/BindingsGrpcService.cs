using Dapr.Client.Autogen.Grpc.v1;
using DaprLlm.Sidecar.Grpc;
using Google.Protobuf;
using Grpc.Core;

namespace DaprLlm.Sidecar.Bindings;

/// <summary>InvokeBinding of dapr.proto.runtime.v1.Dapr.</summary>
[BindServiceMethod(typeof(BindingsGrpcService), nameof(BindService))]
public class BindingsGrpcService(BindingService bindings)
{
    public static void BindService(ServiceBinderBase binder, BindingsGrpcService service) =>
        binder.AddMethod(DaprGrpcMethod.Unary<InvokeBindingRequest, InvokeBindingResponse>(DaprGrpcMethod.RuntimeService, "InvokeBinding"), (request, context) => service.InvokeBinding(request, context));

    public virtual async Task<InvokeBindingResponse> InvokeBinding(InvokeBindingRequest request, ServerCallContext context)
    {
        var metadata = new Dictionary<string, string>(request.Metadata, StringComparer.Ordinal);
        var (response, error) = await bindings.InvokeAsync(request.Name, new BindingRequest(request.Operation, request.Data.ToByteArray(), metadata), context.CancellationToken);
        if (response is not null)
        {
            var headers = new global::Grpc.Core.Metadata();
            foreach (var (key, value) in response.Metadata)
            {
                var name = ("metadata." + key).ToLowerInvariant();
                if (IsAsciiHeader(name) && IsAsciiHeader(value))
                {
                    headers.Add(name, value);
                }
            }

            await context.WriteResponseHeadersAsync(headers);
        }

        if (error is not null)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"error invoking output binding {request.Name}: {error}"));
        }

        var result = new InvokeBindingResponse();
        if (response is not null)
        {
            result.Data = ByteString.CopyFrom(response.Data);
            foreach (var (key, value) in response.Metadata)
            {
                result.Metadata[key] = value;
            }
        }

        return result;
    }

    private static bool IsAsciiHeader(string text) => text.All(c => c is >= ' ' and <= '~');
}
