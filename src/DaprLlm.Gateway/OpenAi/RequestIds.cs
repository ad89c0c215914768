namespace DaprLlm.Gateway.OpenAi;

/// <summary>Every API response carries x-request-id; the id is also the audit record's key.</summary>
public sealed class RequestIdFilter : IEndpointFilter
{
    private static readonly object Slot = new();

    public static string Get(HttpContext context) => Find(context) ?? throw new InvalidOperationException("no request id");

    /// <summary>The request id, or null before the API's filters ran (unknown route, rejected framing).</summary>
    public static string? Find(HttpContext context) => context.Items[Slot] as string;

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var id = $"req-{Guid.NewGuid():N}";
        context.HttpContext.Items[Slot] = id;
        context.HttpContext.Response.Headers["x-request-id"] = id;
        return next(context);
    }
}
