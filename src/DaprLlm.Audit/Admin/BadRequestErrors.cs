namespace DaprLlm.Audit.Admin;

/// <summary>
/// A query value or JSON body that minimal-API binding cannot read (<c>from=yesterday</c>, a truncated body) becomes
/// the admin API's JSON error, not an empty 400 in production or the developer exception page (a stack trace) in
/// development. The exception text is not echoed: it quotes the parser's internals.
/// </summary>
public static class BadRequestErrors
{
    /// <summary>Binding failures throw in every environment (by default only in Development), so the middleware sees them.</summary>
    public static IServiceCollection AddBadRequestErrors(this IServiceCollection services) =>
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

    public static WebApplication UseBadRequestErrors(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await AdminAuth.Error(e.StatusCode, "bad_request",
                    "the request could not be read: a query value has the wrong format (times are ISO 8601) or the JSON body is malformed")
                    .ExecuteAsync(context);
            }
        });
        return app;
    }
}
