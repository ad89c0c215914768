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
        binder.AddMethod(DaprGrpcMethod.Unary<GetMetadataRequest, GetMetadataResponse>(DaprGrpcMethod.RuntimeService, "GetMetadata"), (request, context) => service.GetMetadata(request, context));
        binder.AddMethod(DaprGrpcMethod.Unary<SetMetadataRequest, Empty>(DaprGrpcMethod.RuntimeService, "SetMetadata"), (request, context) => service.SetMetadata(request, context));
    }

    public virtual Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(ToProto(metadata.Build()));

    public virtual Task<Empty> SetMetadata(SetMetadataRequest request, ServerCallContext context)
    {
        extended.Set(request.Key, request.Value);
        return Task.FromResult(new Empty());
    }

    /// <summary>
    /// Reads daprd's HTTP document as GetMetadataResponse: the proto's json_name options match the HTTP names,
    /// except subscription rules (a wrapper message in the proto) and unknown subscription types.
    /// </summary>
    public static GetMetadataResponse ToProto(JsonObject http)
    {
        var proto = (JsonObject)http.DeepClone();
        if (proto["subscriptions"] is JsonArray subscriptions)
        {
            foreach (var subscription in subscriptions.OfType<JsonObject>())
            {
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
}
