using System.Text.Json;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Onnx;

namespace DaprLlm.Inference.Generation;

/// <summary>POST v1/embeddings: batched, normalized all-MiniLM-L6-v2 vectors with token counts; over-long texts refused unless truncation is asked for.</summary>
public static class EmbeddingsApi
{
    public const int MaxInputs = EmbeddingLimits.MaxInputsPerCall;

    public static WebApplication MapEmbeddingsApi(this WebApplication app)
    {
        app.MapPost("/" + ServiceMethods.Embeddings, Embed);
        return app;
    }

    private static async Task<IResult> Embed(HttpContext context, ModelRegistry registry)
    {
        EmbeddingRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, InferenceJson.Default.EmbeddingRequest, context.RequestAborted);
        }
        catch (JsonException e)
        {
            return Errors.Result(400, $"invalid request body: {e.Message}", e.Path, "invalid_request");
        }

        if (request is null || string.IsNullOrEmpty(request.Model) || !registry.Contains(request.Model))
        {
            return Errors.Result(404, $"the model '{request?.Model}' does not exist", "model", "model_not_found");
        }

        if (request.Input is not { Count: > 0 and <= MaxInputs } || request.Input.Any(s => s is null))
        {
            return Errors.Result(400, $"input must hold 1 to {MaxInputs} strings", "input", "invalid_value");
        }

        LoadedModel model;
        try
        {
            model = await registry.GetAsync(request.Model).WaitAsync(context.RequestAborted);
        }
        catch (ModelLoadException)
        {
            return Errors.Result(503, $"the model '{request.Model}' is unavailable", "model", "model_unavailable", registry.Options.RetryAfterSeconds);
        }

        if (model.Remote is { IsChat: false } remote)
        {
            var (vectors, tokens, failed) = await remote.EmbedAsync(request.Input, context.RequestAborted);
            return failed is not null
                ? Errors.Result(failed, registry.Options.RetryAfterSeconds)
                : TypedResults.Json(new EmbeddingResult(model.Id, vectors!, tokens), InferenceJson.Default.EmbeddingResult);
        }

        if (model.Embedder is null)
        {
            return Errors.Result(400, $"the model '{request.Model}' is not an embedding model", "model", "invalid_model");
        }

        if (!request.Truncate)
        {
            for (var i = 0; i < request.Input.Count; i++)
            {
                if (model.Embedder.TokensIfTooLong(request.Input[i]) is { } tokens)
                {
                    // Embedding only the first part of a text would answer for a text the client did not send.
                    return Errors.Result(400,
                        $"This model's maximum context length is {model.ContextLength} tokens, however input[{i}] has {tokens} tokens. Shorten or split the input.",
                        "input", "context_length_exceeded");
                }
            }
        }

        var batch = model.Embedder.Embed(request.Input, context.RequestAborted);
        return TypedResults.Json(new EmbeddingResult(model.Id, batch.Vectors, batch.TotalTokens), InferenceJson.Default.EmbeddingResult);
    }
}
