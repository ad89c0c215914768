using System.Text.Json.Serialization;

namespace DaprLlm.Gateway.Errors;

/// <summary>OpenAI's error envelope: {"error":{"message","type","param","code"}}. No exception text ever goes in it.</summary>
public sealed record OpenAiError([property: JsonPropertyName("error")] OpenAiError.Body Error)
{
    public static IResult Result(int statusCode, string type, string code, string message, string? param = null) =>
        TypedResults.Json(new OpenAiError(new Body(message, type, param, code)), statusCode: statusCode);

    public static IResult InvalidRequest(string message, string? param = null, string code = "invalid_request") =>
        Result(StatusCodes.Status400BadRequest, "invalid_request_error", code, message, param);

    /// <summary>The error code of a result made by <see cref="Result"/>; null for any other result.</summary>
    public static string? CodeOf(IResult result) => result is IValueHttpResult { Value: OpenAiError error } ? error.Error.Code : null;

    public sealed record Body(
        [property: JsonPropertyName("message")] string Message,
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("param")] string? Param,
        [property: JsonPropertyName("code")] string? Code);
}
