using Google.Protobuf;
using Grpc.Core;

namespace DaprLlm.Sidecar.Grpc;

/// <summary>
/// Hand-built gRPC method descriptors: Dapr.Protos ships message types but no server base classes, so each
/// feature binds the methods it serves with a static BindService(ServiceBinderBase) (see FACTS.md).
/// </summary>
public static class DaprGrpcMethod
{
    public const string RuntimeService = "dapr.proto.runtime.v1.Dapr";

    public static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string service, string name)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        new(MethodType.Unary, service, name, Marshaller<TRequest>(), Marshaller<TResponse>());

    public static Method<TRequest, TResponse> ServerStreaming<TRequest, TResponse>(string service, string name)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        new(MethodType.ServerStreaming, service, name, Marshaller<TRequest>(), Marshaller<TResponse>());

    public static Marshaller<T> Marshaller<T>()
        where T : class, IMessage<T>, new()
    {
        var parser = new MessageParser<T>(() => new T());
        return Marshallers.Create(m => m.ToByteArray(), parser.ParseFrom);
    }
}
