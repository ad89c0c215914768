using DaprLlm.Contracts.Inference;

namespace DaprLlm.Inference.Generation;

/// <summary>OpenAI-style error results; Retry-After on 429 and 503.</summary>
internal static class Errors
{
    public static InferenceErrorDetail Detail(int status, string message, string? param, string? code) => new(
        message,
        status switch
        {
            StatusCodes.Status429TooManyRequests => "rate_limit_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        },
        param,
        code);

    public static IResult Result(int status, string message, string? param = null, string? code = null, int? retryAfterSeconds = null) =>
        new ErrorResult(status, new InferenceError(Detail(status, message, param, code)), retryAfterSeconds);

    /// <summary>A generation failure as its HTTP error; Retry-After on 429 and 503.</summary>
    public static IResult Result(Batching.GenerationEvent.Failed failed, int retryAfterSeconds) =>
        Result(failed.Status, failed.Message, null, failed.Code, failed.Status is 429 or 503 ? retryAfterSeconds : null);

    private sealed class ErrorResult(int status, InferenceError error, int? retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            if (retryAfter is { } seconds)
            {
                httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return httpContext.Response.WriteAsJsonAsync(error, InferenceJson.Default.InferenceError);
        }
    }
}
