using Dapr.Client.Autogen.Grpc.v1;
using DaprLlm.Sidecar.Grpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DaprLlm.Sidecar.Invocation;

/// <summary>
/// gRPC InvokeService (DaprClient.InvokeMethodGrpcAsync): the message's HTTPExtension becomes an HTTP call to
/// the target app (verb, query string), its data the body; the answer comes back as InvokeResponse with the
/// HTTP status in the dapr-http-status header, and a non-success status as the matching gRPC status.
/// </summary>
[BindServiceMethod(typeof(InvokeServiceGrpc), nameof(BindService))]
public class InvokeServiceGrpc(ServiceInvoker invoker)
{
    private static readonly HashSet<string> SkippedMetadata = new(StringComparer.OrdinalIgnoreCase)
    {
        "content-type", "te", "user-agent", "grpc-accept-encoding", "grpc-encoding", "grpc-timeout", "host", "accept-encoding",
    };

    // Grpc.AspNetCore calls this with a null service during discovery and finds the handler by method name.
    public static void BindService(ServiceBinderBase binder, InvokeServiceGrpc service) =>
        binder.AddMethod(DaprGrpcMethod.Unary<InvokeServiceRequest, InvokeResponse>(DaprGrpcMethod.RuntimeService, "InvokeService"),
            (request, context) => service.InvokeService(request, context));

    public virtual async Task<InvokeResponse> InvokeService(InvokeServiceRequest request, ServerCallContext context)
    {
        var message = request.Message ?? new InvokeRequest();
        var verb = message.HttpExtension?.Verb is { } v && v != HTTPExtension.Types.Verb.None ? v.ToString().ToUpperInvariant() : "POST";
        var query = message.HttpExtension?.Querystring is { Length: > 0 } q ? "?" + q.TrimStart('?') : "";
        var headers = new HeaderDictionary();
        foreach (var entry in context.RequestHeaders)
        {
            if (!entry.IsBinary && !entry.Key.StartsWith(':') && !entry.Key.StartsWith("grpc-", StringComparison.Ordinal) && !SkippedMetadata.Contains(entry.Key))
            {
                headers.Append(entry.Key, entry.Value);
            }
        }

        BufferedResponse answer;
        try
        {
            answer = await invoker.InvokeBufferedAsync(request.Id, verb, message.Method, query, headers,
                message.Data?.Value.ToByteArray() ?? [], message.ContentType, context.CancellationToken);
        }
        catch (InvocationFailedException e)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"failed to invoke, id: {request.Id}, err: {e.Message}"));
        }

        await context.WriteResponseHeadersAsync(new global::Grpc.Core.Metadata { { "dapr-http-status", answer.Status.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        if (answer.Status is < 200 or > 299)
        {
            var detail = System.Text.Encoding.UTF8.GetString(answer.Body);
            throw new RpcException(new Status(FromHttpStatus(answer.Status), $"{ReasonPhrase(answer.Status)}: {(detail.Length > 64 ? detail[..64] : detail)}"));
        }

        return new InvokeResponse
        {
            Data = new Any { Value = ByteString.CopyFrom(answer.Body) },
            ContentType = answer.ContentType ?? "",
        };
    }

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);

    // daprd's mapping (grpc/doc/http-grpc-status-mapping.md).
    private static StatusCode FromHttpStatus(int status) => status switch
    {
        408 => StatusCode.Cancelled,
        500 => StatusCode.Unknown,
        400 => StatusCode.Internal,
        504 => StatusCode.DeadlineExceeded,
        404 => StatusCode.NotFound,
        409 => StatusCode.AlreadyExists,
        403 => StatusCode.PermissionDenied,
        401 => StatusCode.Unauthenticated,
        429 => StatusCode.ResourceExhausted,
        501 => StatusCode.Unimplemented,
        503 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };
}
