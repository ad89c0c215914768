using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using DaprLlm.Contracts.Inference;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.OpenAi;
using DaprLlm.Gateway.Quotas;
using DaprLlm.Gateway.Routing;
using DaprLlm.Gateway.Upstream;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Embeddings;

/// <summary>POST /{version}/embeddings (OpenAI-compatible), computed by the inference app of an allowed region.</summary>
public static class EmbeddingsApi
{
    private const int MaxInputs = 2_048;

    public static RouteGroupBuilder MapEmbeddings(this RouteGroupBuilder api)
    {
        api.MapPost("/embeddings", Embed).Accepts<EmbeddingsRequest>("application/json");
        return api;
    }

    private static async Task<IResult> Embed(HttpContext context, InferenceClient inference, InferenceRouter router, QuotaService quotas,
        Audit.RefusalAudit refusals, IOptions<ChatOptions> options, TimeProvider time, ILoggerFactory loggers)
    {
        var caller = context.GetCaller();
        var (request, error) = await JsonBody.ReadAsync<EmbeddingsRequest>(context.Request, options.Value.MaxRequestBytes);
        if (error is not null)
        {
            return error;
        }

        if (request!.Extra?.Keys.FirstOrDefault() is { } unknown)
        {
            return OpenAiError.InvalidRequest($"Unrecognized request argument supplied: {unknown}", unknown, "unknown_parameter");
        }

        if (string.IsNullOrWhiteSpace(request.Model))
        {
            return OpenAiError.InvalidRequest("you must provide a model parameter", "model", "missing_required_parameter");
        }

        if (!options.Value.EmbeddingModels.Contains(request.Model) || !caller.Tenant.MayUse(request.Model))
        {
            return ChatCompletionValidator.ModelNotFound(request.Model);
        }

        var inputs = ReadInputs(request.Input);
        if (inputs is null)
        {
            return OpenAiError.InvalidRequest($"input must be a non-empty string or an array of 1 to {MaxInputs} non-empty strings", "input", "invalid_value");
        }

        if (request.EncodingFormat is not (null or "float" or "base64"))
        {
            return OpenAiError.InvalidRequest("encoding_format must be 'float' or 'base64'", "encoding_format", "invalid_value");
        }

        if (request.Dimensions is < 1)
        {
            return OpenAiError.InvalidRequest("dimensions must be at least 1", "dimensions", "invalid_value");
        }

        var estimate = GenerationContext.EstimatePromptTokens(inputs);
        var (ticket, refusal) = await Admission.AdmitAsync(context, quotas, estimate, time, refusals, request.Model, request.Model, request.User);
        if (ticket is null)
        {
            return refusal!;
        }

        try
        {
            EmbeddingsAnswer? answer = null;
            UpstreamException? last = null;
            foreach (var (_, appId) in router.Candidates(caller.Tenant))
            {
                try
                {
                    answer = await EmbedInCallsAsync(inference, appId, request.Model, inputs, context.RequestAborted);
                    break;
                }
                catch (UpstreamException e) when (e.StatusCode is null or >= 500 and not 503)
                {
                    last = e;
                }
            }

            if (answer is null)
            {
                throw last ?? (Exception)new ResidencyException("No inference region is configured for your allowed regions.");
            }

            if (request.Dimensions is { } dimensions && answer.Data.Count > 0 && answer.Data[0].Length != dimensions)
            {
                // OpenAI's smaller vectors come from models trained to be cut short; these are not, so asking for another
                // length is refused rather than answered with vectors of the wrong size. Nothing is charged.
                ticket.Settle(0);
                return UnsupportedValues.Refuse("dimensions", $"{request.Model} returns {answer.Data[0].Length}-dimensional vectors and cannot shorten them");
            }

            ticket.Settle(answer.PromptTokens);
            var base64 = request.EncodingFormat == "base64";
            var data = answer.Data.Select((vector, i) => new EmbeddingItem("embedding", i,
                base64 ? Convert.ToBase64String(MemoryMarshal.AsBytes(vector.AsSpan())) : vector)).ToList();
            return TypedResults.Ok(new EmbeddingsResponse("list", data, request.Model, new EmbeddingsUsage(answer.PromptTokens, answer.PromptTokens)));
        }
        catch (Exception e) when (e is UpstreamException or ResidencyException or HttpRequestException)
        {
            ticket.Settle(0);
            return UpstreamErrors.ToResult(e, context, loggers.CreateLogger(typeof(EmbeddingsApi)));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: its concurrency slot and reservation are returned, the estimate charged.
            ticket.Settle(estimate);
            return Results.Empty;
        }
        finally
        {
            // Settle is idempotent: this only acts when something unforeseen skipped the paths above, so a request never
            // keeps its concurrency slot after it ends.
            ticket.Settle(estimate);
        }
    }

    /// <summary>The inputs in calls of at most <see cref="EmbeddingLimits.MaxInputsPerCall"/> to one inference app, concatenated in order.</summary>
    private static async Task<EmbeddingsAnswer> EmbedInCallsAsync(InferenceClient inference, string appId, string model, List<string> inputs, CancellationToken ct)
    {
        if (inputs.Count <= EmbeddingLimits.MaxInputsPerCall)
        {
            return await inference.EmbedAsync(appId, new EmbeddingsCall(model, inputs), ct);
        }

        var vectors = new List<float[]>(inputs.Count);
        var tokens = 0;
        foreach (var chunk in inputs.Chunk(EmbeddingLimits.MaxInputsPerCall))
        {
            var part = await inference.EmbedAsync(appId, new EmbeddingsCall(model, chunk), ct);
            vectors.AddRange(part.Data);
            tokens += part.PromptTokens;
        }

        return new EmbeddingsAnswer(model, vectors, tokens);
    }

    private static List<string>? ReadInputs(JsonElement? input)
    {
        if (input is not { } value)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString() is { Length: > 0 } s ? [s] : null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() is 0 or > MaxInputs)
        {
            return null;
        }

        var list = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 } s)
            {
                return null;
            }

            list.Add(s);
        }

        return list;
    }
}

/// <summary>OpenAI's embeddings request.</summary>
public sealed record EmbeddingsRequest
{
    [JsonPropertyName("model")] public string? Model { get; init; }

    [JsonPropertyName("input")] public JsonElement? Input { get; init; }

    [JsonPropertyName("encoding_format")] public string? EncodingFormat { get; init; }

    [JsonPropertyName("dimensions")] public int? Dimensions { get; init; }

    [JsonPropertyName("user")] public string? User { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>OpenAI's embeddings answer.</summary>
public sealed record EmbeddingsResponse(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<EmbeddingItem> Data,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("usage")] EmbeddingsUsage Usage);

/// <summary>One embedding: a float array, or base64 of little-endian float32 when asked.</summary>
public sealed record EmbeddingItem(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("embedding")] object Embedding);

/// <summary>Token usage of an embeddings request.</summary>
public sealed record EmbeddingsUsage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens);
