using System.Globalization;
using System.Text.Json;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.Upstream;

namespace DaprLlm.Gateway.OpenAi;

/// <summary>
/// Maps failures behind the gateway to OpenAI errors. Upstream text is never passed through, with two exceptions the
/// client needs to fix its request: the inference app's <c>context_length_exceeded</c> message (the sizes) and its
/// logit_bias vocabulary message (the model's token range).
/// </summary>
public static partial class UpstreamErrors
{
    public static IResult ToResult(Exception e, HttpContext context, ILogger logger)
    {
        switch (e)
        {
            case ResidencyException residency:
                LogResidency(logger, context.TraceIdentifier);
                return OpenAiError.Result(StatusCodes.Status503ServiceUnavailable, "server_error", "region_unavailable", residency.Message);
            case BackendFailedException failed:
                LogBackendFailed(logger, failed.Model, context.TraceIdentifier);
                context.Response.Headers.RetryAfter = "1";
                return OpenAiError.Result(StatusCodes.Status503ServiceUnavailable, "server_error", "upstream_error",
                    $"The backend of model '{failed.Model}' failed to answer. Retry after the time in Retry-After.");
            case UpstreamException { StatusCode: 429 or 503 } overloaded:
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling((overloaded.RetryAfter ?? TimeSpan.FromSeconds(1)).TotalSeconds))
                    .ToString(CultureInfo.InvariantCulture);
                return overloaded.StatusCode == 429
                    ? OpenAiError.Result(StatusCodes.Status429TooManyRequests, "requests", "rate_limit_exceeded", "The model is overloaded. Retry after the time in Retry-After.")
                    : OpenAiError.Result(StatusCodes.Status503ServiceUnavailable, "server_error", "service_unavailable", "The model is temporarily unavailable. Retry after the time in Retry-After.");
            case UpstreamException { StatusCode: 404, AppId: var app } when app.StartsWith("inference", StringComparison.Ordinal):
                return OpenAiError.Result(StatusCodes.Status404NotFound, "invalid_request_error", "model_not_found", "The model does not exist or is not loaded.", "model");
            case UpstreamException { StatusCode: 400 } fixable when ClientFixable(fixable) is { } error:
                return OpenAiError.InvalidRequest(error.Message, error.Param, error.Code);
            case UpstreamException { StatusCode: 400 } bad:
                LogUpstream(logger, bad.AppId, 400, context.TraceIdentifier);
                return OpenAiError.InvalidRequest(bad.AppId.StartsWith("inference", StringComparison.Ordinal)
                    ? "The request was rejected by the model backend (check the parameters' values)."
                    : "The request was rejected by the safety check (check the messages' roles, sizes and count).");
            case OperationCanceledException or TimeoutException:
                // Not the client's cancellation (that one is handled before): a call behind the gateway timed out.
                LogUpstream(logger, "sidecar", StatusCodes.Status504GatewayTimeout, context.TraceIdentifier);
                return OpenAiError.Result(StatusCodes.Status504GatewayTimeout, "server_error", "upstream_timeout",
                    "A backend service did not answer in time. Retry the request; if it persists, contact the operator.");
            case UpstreamException { TimedOut: true } slow:
                LogUpstream(logger, slow.AppId, StatusCodes.Status504GatewayTimeout, context.TraceIdentifier);
                return OpenAiError.Result(StatusCodes.Status504GatewayTimeout, "server_error", "upstream_timeout",
                    "A backend service did not answer in time. Retry the request; if it persists, contact the operator.");
            case UpstreamException upstream:
                LogUpstream(logger, upstream.AppId, upstream.StatusCode ?? 0, context.TraceIdentifier);
                return OpenAiError.Result(StatusCodes.Status502BadGateway, "server_error", "upstream_error",
                    "A backend service failed to answer. Retry the request; if it persists, contact the operator.");
            default:
                LogUnexpected(logger, e.GetType().Name, context.TraceIdentifier);
                return OpenAiError.Result(StatusCodes.Status503ServiceUnavailable, "server_error", "service_unavailable",
                    "The service is temporarily unavailable. Retry the request.");
        }
    }

    /// <summary>
    /// The client-facing error for the inference app's 400s that only the model can judge and the client can fix: a
    /// context overflow (the sizes) and a logit_bias token outside the model's vocabulary; null for any other answer.
    /// </summary>
    private static (string Message, string Param, string Code)? ClientFixable(UpstreamException e)
    {
        if (!e.AppId.StartsWith("inference", StringComparison.Ordinal) || e.Body is not { Length: > 0 and < 4_096 } body)
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind != JsonValueKind.Object
                || !json.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object
                || !error.TryGetProperty("code", out var code) || code.ValueKind != JsonValueKind.String
                || !error.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.String
                || message.GetString() is not { Length: > 0 and <= 300 } text)
            {
                return null;
            }

            var param = error.TryGetProperty("param", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            return (code.GetString(), param) switch
            {
                // An embedding input longer than the model reads: inference names the input and both sizes.
                ("context_length_exceeded", "input") => (text, "input", "context_length_exceeded"),
                ("context_length_exceeded", _) => ($"The request does not fit the model's context: {text}. Shorten the messages or lower max_tokens.",
                    "max_tokens", "context_length_exceeded"),
                ("invalid_value", "logit_bias") => (text, "logit_bias", "invalid_value"),
                _ => null,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No allowed region could serve request {TraceId}")]
    private static partial void LogResidency(ILogger logger, string traceId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model backend {Model} failed for request {TraceId}")]
    private static partial void LogBackendFailed(ILogger logger, string model, string traceId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Upstream {AppId} answered {Status} for request {TraceId}")]
    private static partial void LogUpstream(ILogger logger, string appId, int status, string traceId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Request {TraceId} failed: {Error}")]
    private static partial void LogUnexpected(ILogger logger, string error, string traceId);
}
