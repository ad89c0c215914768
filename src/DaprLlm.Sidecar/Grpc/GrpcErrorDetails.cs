using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Status = Grpc.Core.Status;

namespace DaprLlm.Sidecar.Grpc;

/// <summary>
/// daprd's rich gRPC errors (dapr/kit errors): a google.rpc.Status with a google.rpc.ErrorInfo detail (domain
/// dapr.io) in the grpc-status-details-bin trailer, which the SDK's DaprException.TryGetExtendedErrorInfo reads.
/// </summary>
public static class GrpcErrorDetails
{
    private const string DetailsTrailer = "grpc-status-details-bin";

    public static RpcException WithErrorInfo(StatusCode code, string message, string reason, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var info = new ErrorInfo { Reason = reason, Domain = "dapr.io" };
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                info.Metadata[key] = value;
            }
        }

        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        status.Details.Add(Any.Pack(info));
        return new RpcException(new Status(code, message), new global::Grpc.Core.Metadata { { DetailsTrailer, status.ToByteArray() } });
    }
}
