using System.Text.Json.Serialization;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Chat;

namespace DaprLlm.Gateway.Models;

/// <summary>GET /{version}/models and /{version}/models/{id}: the models this caller's tenant may use.</summary>
public static class ModelsApi
{
    public static RouteGroupBuilder MapModels(this RouteGroupBuilder api)
    {
        api.MapGet("/models", List).Produces<ModelList>();
        // Catch-all: model ids may hold slashes ("org/model"), which clients send as they are or as %2F.
        api.MapGet("/models/{**id}", Get).Produces<ModelCard>();
        return api;
    }

    private static async Task<IResult> List(HttpContext context, ModelCatalog catalog) =>
        TypedResults.Ok(new ModelList("list", (await catalog.VisibleAsync(context.GetCaller().Tenant, context.RequestAborted)).Select(Card).ToList()));

    private static async Task<IResult> Get(string id, HttpContext context, ModelCatalog catalog)
    {
        // The server decodes every escape in a path but %2F, which would otherwise split it.
        id = id.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        return (await catalog.VisibleAsync(context.GetCaller().Tenant, context.RequestAborted)).Contains(id)
            ? TypedResults.Ok(Card(id))
            : ChatCompletionValidator.ModelNotFound(id);
    }

    private static ModelCard Card(string id) => new(id, "model", 0, "daprllm");
}

/// <summary>OpenAI's model object.</summary>
public sealed record ModelCard(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy);

/// <summary>OpenAI's list of models.</summary>
public sealed record ModelList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<ModelCard> Data);
