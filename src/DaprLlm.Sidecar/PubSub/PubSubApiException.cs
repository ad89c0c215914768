using Grpc.Core;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>A publish request daprd would refuse: its errorCode, HTTP status and gRPC status.</summary>
public sealed class PubSubApiException(string errorCode, int httpStatus, StatusCode grpcStatus, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public string ErrorCode { get; } = errorCode;

    public int HttpStatus { get; } = httpStatus;

    public StatusCode GrpcStatus { get; } = grpcStatus;

    public static PubSubApiException NotConfigured() =>
        new("ERR_PUBSUB_NOT_CONFIGURED", 400, StatusCode.FailedPrecondition, "no pubsub is configured");

    public static PubSubApiException EmptyName() =>
        new("ERR_PUBSUB_EMPTY", 404, StatusCode.InvalidArgument, "pubsub name is empty");

    public static PubSubApiException NotFound(string name) =>
        new("ERR_PUBSUB_NOT_FOUND", 404, StatusCode.InvalidArgument, $"pubsub {name} is not found");

    public static PubSubApiException TopicEmpty(string name) =>
        new("ERR_TOPIC_NAME_EMPTY", 404, StatusCode.InvalidArgument, $"topic is empty in pubsub {name}");

    public static PubSubApiException Forbidden(string topic, string name, string appId) =>
        new("ERR_PUBSUB_FORBIDDEN", 403, StatusCode.PermissionDenied, $"topic {topic} is not allowed for app id {appId} in pubsub {name}");

    public static PubSubApiException CloudEvent(string topic, string name, Exception e) =>
        new("ERR_PUBSUB_CLOUD_EVENTS_SER", 500, StatusCode.InvalidArgument,
            $"error when packing a cloud event for topic {topic} of pubsub {name}: {e.Message}", e);

    public static PubSubApiException Publish(string topic, string name, Exception e) =>
        new("ERR_PUBSUB_PUBLISH_MESSAGE", 500, StatusCode.Internal, $"error when publishing to topic {topic} in pubsub {name}: {e.Message}", e);

    public static PubSubApiException BadRequest(string message) =>
        new("ERR_PUBSUB_EVENTS_SER", 400, StatusCode.InvalidArgument, message);
}
