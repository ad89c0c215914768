using System.Text.Json.Serialization;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Chat;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Models;

/// <summary>GET /{version}/models and /{version}/models/{id}: the models this caller's tenant may use.</summary>
public static class ModelsApi
{
    public static RouteGroupBuilder MapModels(this RouteGroupBuilder api)
    {
        api.MapGet("/models", List).Produces<ModelList>();
        api.MapGet("/models/{id}", Get).Produces<ModelCard>();
        return api;
    }

    private static IResult List(HttpContext context, IOptions<ChatOptions> options) =>
        TypedResults.Ok(new ModelList("list", Visible(context.GetCaller(), options.Value).ToList()));

    private static IResult Get(string id, HttpContext context, IOptions<ChatOptions> options) =>
        Visible(context.GetCaller(), options.Value).FirstOrDefault(m => m.Id == id) is { } card
            ? TypedResults.Ok(card)
            : ChatCompletionValidator.ModelNotFound(id);

    private static IEnumerable<ModelCard> Visible(Caller caller, ChatOptions options) =>
        options.Models.Concat(options.EmbeddingModels).Where(caller.Tenant.MayUse).Select(id => new ModelCard(id, "model", 0, "daprllm"));
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
