using DaprLlm.Gateway.Errors;

namespace DaprLlm.Gateway.Backpressure;

/// <summary>The answer when the gateway sheds load instead of queueing longer.</summary>
public static class Shedding
{
    public const string Code = "server_overloaded";

    public static IResult Overloaded(HttpResponse response)
    {
        response.Headers.RetryAfter = "1";
        return OpenAiError.Result(StatusCodes.Status503ServiceUnavailable, "server_error", Code,
            "The service is at capacity. Retry after the time in Retry-After.");
    }
}
