using DaprLlm.Sidecar.Grpc;
using DaprLlm.Sidecar.Http;
using Grpc.Core;

namespace DaprLlm.Sidecar.State;

/// <summary>daprd's state API errors, with the HTTP status and gRPC code daprd pairs with each.</summary>
public sealed class StateApiException(int httpStatus, StatusCode grpcCode, string errorCode, string message, string? reason = null, string? appId = null)
    : Exception(message)
{
    public int HttpStatus { get; } = httpStatus;

    public StatusCode GrpcCode { get; } = grpcCode;

    public string ErrorCode { get; } = errorCode;

    /// <summary>The google.rpc.ErrorInfo reason daprd adds to its newer errors (DAPR_STATE_NOT_FOUND...).</summary>
    public string? Reason { get; } = reason;

    public string? AppId { get; } = appId;

    public static StateApiException NotConfigured(string store, string appId) =>
        new(500, StatusCode.FailedPrecondition, "ERR_STATE_STORE_NOT_CONFIGURED", $"state store {store} is not configured", "DAPR_STATE_NOT_CONFIGURED", appId);

    public static StateApiException NotFound(string store, string appId) =>
        new(400, StatusCode.InvalidArgument, "ERR_STATE_STORE_NOT_FOUND", $"state store {store} is not found", "DAPR_STATE_NOT_FOUND", appId);

    public static StateApiException IllegalKey(string message) =>
        new(400, StatusCode.InvalidArgument, "ERR_MALFORMED_REQUEST", message, "DAPR_STATE_ILLEGAL_KEY");

    public static StateApiException Malformed(string message) =>
        new(400, StatusCode.InvalidArgument, "ERR_MALFORMED_REQUEST", message);

    public IResult ToHttp()
    {
        if (Reason is null)
        {
            return DaprHttpErrors.Error(HttpStatus, ErrorCode, Message);
        }

        // daprd's kit errors add a google.rpc.ErrorInfo detail to the JSON body.
        var metadata = AppId is null ? null : new Dictionary<string, string> { ["appID"] = AppId };
        var detail = new Dictionary<string, object?>
        {
            ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo",
            ["reason"] = Reason,
            ["domain"] = "dapr.io",
        };
        if (metadata is not null)
        {
            detail["metadata"] = metadata;
        }

        return Results.Json(new { errorCode = ErrorCode, message = Message, details = new[] { detail } }, DaprJson.Options, statusCode: HttpStatus);
    }

    /// <summary>The gRPC error; with a <see cref="Reason"/> it carries the same ErrorInfo detail as the HTTP body.</summary>
    public RpcException ToGrpc() => Reason is null
        ? new(new Status(GrpcCode, Message))
        : GrpcErrorDetails.WithErrorInfo(GrpcCode, Message, Reason, AppId is null ? null : new Dictionary<string, string> { ["appID"] = AppId });
}
