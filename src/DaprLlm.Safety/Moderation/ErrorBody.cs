namespace DaprLlm.Safety.Moderation;

/// <summary>OpenAI's error shape: <c>{"error":{"message","type","param","code"}}</c>; bad input never yields a 500.</summary>
public sealed record ErrorBody(ErrorDetail Error)
{
    public static Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<ErrorBody> Result(int status, string message, string type, string? param) =>
        TypedResults.Json(new ErrorBody(new ErrorDetail(message, type, param, null)), statusCode: status);
}

/// <summary>The inner error object.</summary>
public sealed record ErrorDetail(string Message, string Type, string? Param, string? Code);
