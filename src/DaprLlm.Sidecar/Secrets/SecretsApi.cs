using DaprLlm.Sidecar.Http;
using DaprLlm.Sidecar.State;

namespace DaprLlm.Sidecar.Secrets;

/// <summary>daprd's secrets HTTP API: GET /v1.0/secrets/{store}/{name} and /v1.0/secrets/{store}/bulk.</summary>
public static class SecretsApi
{
    public static WebApplication MapSecretsApi(this WebApplication app)
    {
        app.MapGet("/v1.0/secrets/{secretStoreName}/bulk", GetBulkSecretAsync).UnescapeLikeDaprd();
        app.MapGet("/v1.0/secrets/{secretStoreName}/{key}", GetSecretAsync).UnescapeLikeDaprd();
        return app;
    }

    private static async Task<IResult> GetSecretAsync(string secretStoreName, string key, HttpContext context, SecretService secrets)
    {
        try
        {
            return Results.Json(await secrets.GetAsync(secretStoreName, key, StateApi.QueryMetadata(context.Request), context.RequestAborted), DaprJson.Options);
        }
        catch (SecretApiException e)
        {
            return DaprHttpErrors.Error(e.HttpStatus, e.ErrorCode, e.Message);
        }
    }

    private static async Task<IResult> GetBulkSecretAsync(string secretStoreName, HttpContext context, SecretService secrets)
    {
        try
        {
            return Results.Json(await secrets.GetBulkAsync(secretStoreName, StateApi.QueryMetadata(context.Request), context.RequestAborted), DaprJson.Options);
        }
        catch (SecretApiException e)
        {
            return DaprHttpErrors.Error(e.HttpStatus, e.ErrorCode, e.Message);
        }
    }
}
