using Dapr.Client.Autogen.Grpc.v1;
using DaprLlm.Sidecar.Grpc;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>gRPC PublishEvent, BulkPublishEvent and BulkPublishEventAlpha1 of dapr.proto.runtime.v1.Dapr.</summary>
[BindServiceMethod(typeof(PubSubGrpcService), nameof(BindService))]
public class PubSubGrpcService(Publisher publisher)
{
    public static void BindService(ServiceBinderBase binder, PubSubGrpcService? service)
    {
        // Grpc.AspNetCore discovers methods with a null service and resolves the instance per call.
        binder.AddMethod(DaprGrpcMethod.Unary<PublishEventRequest, Empty>(DaprGrpcMethod.RuntimeService, "PublishEvent"),
            service is null ? null! : service.PublishEvent);
        binder.AddMethod(DaprGrpcMethod.Unary<BulkPublishRequest, BulkPublishResponse>(DaprGrpcMethod.RuntimeService, "BulkPublishEventAlpha1"),
            service is null ? null! : service.BulkPublishEventAlpha1);
        binder.AddMethod(DaprGrpcMethod.Unary<BulkPublishRequest, BulkPublishResponse>(DaprGrpcMethod.RuntimeService, "BulkPublishEvent"),
            service is null ? null! : service.BulkPublishEvent);
    }

    public virtual async Task<Empty> PublishEvent(PublishEventRequest request, ServerCallContext context)
    {
        try
        {
            await publisher.PublishAsync(new Publisher.Request(request.PubsubName, request.Topic, request.Data.Memory,
                string.IsNullOrEmpty(request.DataContentType) ? null : request.DataContentType,
                new Dictionary<string, string>(request.Metadata, StringComparer.Ordinal),
                context.RequestHeaders.GetValue("traceparent"), context.RequestHeaders.GetValue("tracestate")), context.CancellationToken);
            return new Empty();
        }
        catch (PubSubApiException e)
        {
            throw new RpcException(new Status(e.GrpcStatus, e.Message));
        }
    }

    // Grpc.AspNetCore finds each handler by the gRPC method's name, so the alpha name needs its own method.
    public virtual Task<BulkPublishResponse> BulkPublishEventAlpha1(BulkPublishRequest request, ServerCallContext context) =>
        BulkPublishEvent(request, context);

    public virtual async Task<BulkPublishResponse> BulkPublishEvent(BulkPublishRequest request, ServerCallContext context)
    {
        IPubSub pubsub;
        try
        {
            pubsub = publisher.Resolve(request.PubsubName, request.Topic);
        }
        catch (PubSubApiException e)
        {
            throw new RpcException(new Status(e.GrpcStatus, e.Message));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var entries = new List<PubSubApi.BulkEntry>();
        foreach (var entry in request.Entries)
        {
            if (string.IsNullOrEmpty(entry.EntryId) || !seen.Add(entry.EntryId))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"entryId is duplicated or not present for entry in topic {request.Topic} pubsub {request.PubsubName}"));
            }

            var metadata = new Dictionary<string, string>(request.Metadata, StringComparer.Ordinal);
            foreach (var (key, value) in entry.Metadata)
            {
                metadata[key] = value;
            }

            entries.Add(new PubSubApi.BulkEntry(entry.EntryId, entry.Event.Memory, string.IsNullOrEmpty(entry.ContentType) ? null : entry.ContentType, metadata));
        }

        var failed = await PubSubApi.PublishEntriesAsync(pubsub, publisher, request.PubsubName, request.Topic, entries,
            context.RequestHeaders.GetValue("traceparent"), context.RequestHeaders.GetValue("tracestate"), context.CancellationToken);
        var response = new BulkPublishResponse();
        response.FailedEntries.AddRange(failed.Select(f => new BulkPublishResponseFailedEntry { EntryId = f.EntryId, Error = f.Error }));
        return response;
    }
}
