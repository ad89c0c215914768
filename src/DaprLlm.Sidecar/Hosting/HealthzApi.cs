using DaprLlm.Sidecar.Http;

namespace DaprLlm.Sidecar.Hosting;

/// <summary>daprd's health endpoints: GET /v1.0/healthz (with its appid check) and /v1.0/healthz/outbound.</summary>
public static class HealthzApi
{
    public static WebApplication MapHealthzApi(this WebApplication app)
    {
        app.MapGet("/v1.0/healthz", Healthz);
        app.MapGet("/v1.0/healthz/outbound", () => TypedResults.NoContent());
        return app;
    }

    // Name resolvers (e.g. Consul) probe ?appid=<id> to notice that another app now holds the address; Go's
    // query keys are case-sensitive, and an empty appid= is present and so does not match.
    private static IResult Healthz(HttpContext context, SidecarOptions options)
    {
        foreach (var (key, values) in context.Request.Query)
        {
            if (key == "appid" && values.FirstOrDefault() != options.AppId)
            {
                return DaprHttpErrors.Error(StatusCodes.Status500InternalServerError, "ERR_HEALTH_APPID_NOT_MATCH", "dapr app-id does not match");
            }
        }

        return TypedResults.NoContent();
    }
}
