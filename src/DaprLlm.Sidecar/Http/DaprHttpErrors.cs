namespace DaprLlm.Sidecar.Http;

/// <summary>daprd's HTTP error shape: {"errorCode": "ERR_...", "message": "..."}.</summary>
public static class DaprHttpErrors
{
    public static IResult Error(int statusCode, string errorCode, string message) =>
        Results.Json(new DaprError(errorCode, message), DaprJson.Options, statusCode: statusCode);

    public static Task WriteAsync(HttpContext context, int statusCode, string errorCode, string message)
    {
        context.Response.StatusCode = statusCode;
        return context.Response.WriteAsJsonAsync(new DaprError(errorCode, message), DaprJson.Options);
    }

    public sealed record DaprError(string ErrorCode, string Message);
}
