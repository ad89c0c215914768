namespace DaprLlm.Safety.Moderation;

/// <summary>OpenAI's error shape: <c>{"error":{"message","type","param","code"}}</c>; bad input never yields a 500.</summary>
public sealed record ErrorBody(ErrorDetail Error)
{
    public static Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<ErrorBody> Result(int status, string message, string type, string? param) =>
        TypedResults.Json(new ErrorBody(new ErrorDetail(message, type, param, null)), statusCode: status);

    /// <summary>
    /// 503 with Retry-After: the ML layer's embedding service failed or timed out, so the text was not scored. Failing
    /// closed: no verdict and nothing cached; the gateway refuses the request instead of passing it unchecked.
    /// </summary>
    public static Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<ErrorBody> EmbeddingsUnavailable(HttpResponse response)
    {
        response.Headers.RetryAfter = "1";
        return TypedResults.Json(new ErrorBody(new ErrorDetail("the moderation model's embedding service is unavailable; retry later",
            "service_unavailable", null, "embeddings_unavailable")), statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}

/// <summary>The inner error object.</summary>
public sealed record ErrorDetail(string Message, string Type, string? Param, string? Code);
