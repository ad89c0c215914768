using Dapr.Client.Autogen.Grpc.v1;
using DaprLlm.Sidecar.Grpc;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DaprLlm.Sidecar.Hosting;

/// <summary>Shutdown of dapr.proto.runtime.v1.Dapr (the SDK's DaprClient.ShutdownSidecarAsync).</summary>
[BindServiceMethod(typeof(ShutdownGrpcService), nameof(BindService))]
public class ShutdownGrpcService(IHostApplicationLifetime lifetime, ILoggerFactory loggers)
{
    public static void BindService(ServiceBinderBase binder, ShutdownGrpcService service) =>
        binder.AddMethod(DaprGrpcMethod.Unary<ShutdownRequest, Empty>(DaprGrpcMethod.RuntimeService, "Shutdown"), (request, context) => service.Shutdown(request, context));

    public virtual Task<Empty> Shutdown(ShutdownRequest request, ServerCallContext context)
    {
        ShutdownApi.StopAfterResponse(context.GetHttpContext(), lifetime, loggers.CreateLogger("dapr.runtime"));
        return Task.FromResult(new Empty());
    }
}
