using Dapr;
using Google.Rpc;
using Grpc.Core;

namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>
/// Reads the google.rpc.ErrorInfo of a gRPC error from grpc-status-details-bin. Not through the SDK's
/// TryGetExtendedErrorInfo details: Dapr.Common 1.19 maps "type.googleapis.com/Google.rpc.ErrorInfo" (capital G),
/// so the "google.rpc.ErrorInfo" that daprd (Go's anypb) sends comes back as an unrecognized detail.
/// </summary>
public static class GrpcErrorInfo
{
    public static ErrorInfo Read(DaprException error)
    {
        var rpc = Assert.IsType<RpcException>(error.InnerException);
        var status = Google.Rpc.Status.Parser.ParseFrom(rpc.Trailers.GetValueBytes("grpc-status-details-bin"));
        var detail = Assert.Single(status.Details);
        Assert.Equal("type.googleapis.com/google.rpc.ErrorInfo", detail.TypeUrl);
        return detail.Unpack<ErrorInfo>();
    }
}
