using Microsoft.AspNetCore.Diagnostics;

namespace DaprLlm.Gateway.Errors;

/// <summary>
/// The last line of "errors are values at the edge": an exception no handler mapped (a malformed chunked body that
/// Kestrel rejects mid-read, a state store that fails during authentication, a bug) becomes an OpenAI error object
/// instead of the developer exception page (stack trace) or an empty 500; an unknown API route gets one too.
/// </summary>
public static partial class ErrorHandling
{
    public static WebApplication UseOpenAiErrors(this WebApplication app)
    {
        // Registered before the endpoints, so it runs inside the developer exception page that Development adds.
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = WriteExceptionAsync });
        app.UseStatusCodePages(WriteStatusAsync);
        return app;
    }

    private static async Task WriteExceptionAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        LogUnhandled(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ErrorHandling)),
            error?.GetType().Name ?? "unknown", context.TraceIdentifier);
        if (OpenAi.RequestIdFilter.Find(context) is { } requestId)
        {
            // The handler cleared the response's headers; the client still gets the id it can quote.
            context.Response.Headers["x-request-id"] = requestId;
        }

        var result = error is BadHttpRequestException bad
            ? OpenAiError.Result(bad.StatusCode, "invalid_request_error", "invalid_request", "The request could not be read (malformed body or framing).")
            : OpenAiError.Result(StatusCodes.Status500InternalServerError, "server_error", "internal_error",
                "The server had an error while processing your request. Retry the request; if it persists, contact the operator.");
        await result.ExecuteAsync(context);
    }

    // Only API routes: /health and the docs keep their own answers.
    private static async Task WriteStatusAsync(StatusCodeContext status)
    {
        var context = status.HttpContext;
        var path = context.Request.Path;
        if (context.Response.HasStarted || !(path.StartsWithSegments("/v1") || path.StartsWithSegments("/v2") || path.StartsWithSegments("/admin")))
        {
            return;
        }

        var result = context.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => OpenAiError.Result(404, "invalid_request_error", "unknown_url", $"Invalid URL ({context.Request.Method} {path})."),
            StatusCodes.Status405MethodNotAllowed => OpenAiError.Result(405, "invalid_request_error", "method_not_allowed", $"Method {context.Request.Method} is not allowed on {path}."),
            StatusCodes.Status415UnsupportedMediaType => OpenAiError.Result(415, "invalid_request_error", "unsupported_media_type", "The body must be JSON (Content-Type: application/json)."),
            _ => null,
        };
        if (result is not null)
        {
            await result.ExecuteAsync(context);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled {Error} for request {TraceId}; answered with an OpenAI error")]
    private static partial void LogUnhandled(ILogger logger, string error, string traceId);
}
