using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// Reads a JSON request body by hand: the framework's own binding answers malformed JSON or a wrong content type
/// with an empty 400 or 415, and our callers are owed OpenAI's error object.
/// </summary>
public static class JsonRequestBody
{
    public static async Task<(T? Value, JsonHttpResult<ErrorBody>? Error)> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, JsonSerializerOptions.Web, cancellationToken);
            return value is null ? (null, Invalid("the body must be a JSON object")) : (value, null);
        }
        catch (JsonException e)
        {
            // The path says where; the exception's own text names .NET types, which a client has no use for.
            return (null, Invalid($"the body is not valid JSON for this route (at {e.Path ?? "$"})"));
        }
    }

    private static JsonHttpResult<ErrorBody> Invalid(string message) =>
        ErrorBody.Result(StatusCodes.Status400BadRequest, message, "invalid_request_error", null);
}
