using DaprLlm.Sidecar.Http;

namespace DaprLlm.Sidecar.Metadata;

/// <summary>daprd's metadata HTTP API: GET /v1.0/metadata and PUT /v1.0/metadata/{key}.</summary>
public static class MetadataApi
{
    public static WebApplication MapMetadataApi(this WebApplication app)
    {
        app.MapGet("/v1.0/metadata", (MetadataService metadata) => Results.Json(metadata.Build(), DaprJson.Options));
        app.MapPut("/v1.0/metadata/{key}", PutAsync).UnescapeLikeDaprd();
        return app;
    }

    private static async Task<IResult> PutAsync(string key, HttpRequest request, ExtendedMetadata extended)
    {
        using var reader = new StreamReader(request.Body);
        extended.Set(key, await reader.ReadToEndAsync(request.HttpContext.RequestAborted));
        return Results.NoContent();
    }
}
