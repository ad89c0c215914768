using System.Text.Json.Nodes;
using Dapr.Client.Autogen.Grpc.v1;
using DaprLlm.Sidecar.Grpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DaprLlm.Sidecar.Metadata;

/// <summary>GetMetadata and SetMetadata of dapr.proto.runtime.v1.Dapr, answered from the same document as the HTTP API.</summary>
[BindServiceMethod(typeof(MetadataGrpcService), nameof(BindService))]
public class MetadataGrpcService(MetadataService metadata, ExtendedMetadata extended)
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public static void BindService(ServiceBinderBase binder, MetadataGrpcService service)
    {
        binder.AddMethod(DaprGrpcMethod.Unary<GetMetadataRequest, GetMetadataResponse>(DaprGrpcMethod.RuntimeService, "GetMetadata"), (UnaryServerMethod<GetMetadataRequest, GetMetadataResponse>?)null);
        binder.AddMethod(DaprGrpcMethod.Unary<SetMetadataRequest, Empty>(DaprGrpcMethod.RuntimeService, "SetMetadata"), (UnaryServerMethod<SetMetadataRequest, Empty>?)null);
    }

    public virtual Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(ToProto(metadata.Build()));

    public virtual Task<Empty> SetMetadata(SetMetadataRequest request, ServerCallContext context)
    {
        extended.Set(request.Key, request.Value);
        return Task.FromResult(new Empty());
    }

    /// <summary>Renames daprd's HTTP JSON fields to the proto JSON names of GetMetadataResponse.</summary>
    public static GetMetadataResponse ToProto(JsonObject http)
    {
        var proto = (JsonObject)http.DeepClone();
        Rename(proto, "components", "registeredComponents");
        Rename(proto, "extended", "extendedMetadata");
        Rename(proto, "actors", "activeActorsCount");
        if (proto["subscriptions"] is JsonArray subscriptions)
        {
            foreach (var subscription in subscriptions.OfType<JsonObject>())
            {
                Rename(subscription, "pubsubname", "pubsubName");
                if (subscription["rules"] is JsonArray rules)
                {
                    subscription["rules"] = new JsonObject { ["rules"] = rules.DeepClone() };
                }

                if (subscription["type"]?.GetValue<string>() is { } type && type is not ("UNKNOWN" or "DECLARATIVE" or "PROGRAMMATIC" or "STREAMING"))
                {
                    subscription.Remove("type");
                }
            }
        }

        try
        {
            return Parser.Parse<GetMetadataResponse>(proto.ToJsonString());
        }
        catch (InvalidProtocolBufferException)
        {
            // A contributor's part that does not fit the proto: keep every part that does.
            var response = new GetMetadataResponse();
            foreach (var (name, value) in proto)
            {
                try
                {
                    response.MergeFrom(Parser.Parse<GetMetadataResponse>(new JsonObject { [name] = value?.DeepClone() }.ToJsonString()));
                }
                catch (InvalidProtocolBufferException)
                {
                }
            }

            return response;
        }
    }

    private static void Rename(JsonObject node, string from, string to)
    {
        if (node[from] is { } value)
        {
            node.Remove(from);
            node[to] = value;
        }
    }
}
