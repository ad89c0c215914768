using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using DaprLlm.Contracts.Events;
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
public static partial class EmbeddingsApi
{
    private const int MaxInputs = 2_048;

    public static RouteGroupBuilder MapEmbeddings(this RouteGroupBuilder api)
    {
        api.MapPost("/embeddings", Embed).Accepts<EmbeddingsRequest>("application/json");
        return api;
    }

    private static async Task<IResult> Embed(HttpContext context, InferenceClient inference, InferenceRouter router, QuotaService quotas,
        Audit.RefusalAudit refusals, Audit.RequestAudit audit, EmbeddingDimensions dimensionsOf, IOptions<ChatOptions> options, TimeProvider time,
        ILoggerFactory loggers)
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

        if (IsTokenIds(request.Input))
        {
            // What OpenAI's Python clients send by default (LangChain tokenizes with tiktoken first): ids of OpenAI's
            // vocabulary, which mean other words, or nothing, to this model's own tokenizer.
            return OpenAiError.InvalidRequest(
                $"token-id inputs are not supported by {request.Model} (it reads text with its own BERT vocabulary): send the inputs as strings "
                + "(LangChain: OpenAIEmbeddings(check_embedding_ctx_length=False))", "input", "unsupported_value");
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

        if (request.Dimensions is { } asked && dimensionsOf.Known(request.Model) is { } known && known != asked)
        {
            // Refused before anything is embedded: a batch of 2,048 long inputs is not computed only to be thrown away.
            return OtherDimensions(request.Model, known);
        }

        var estimate = GenerationContext.EstimatePromptTokens(inputs);
        var (ticket, refusal) = await Admission.AdmitAsync(context, quotas, estimate, time, refusals, request.Model, request.Model, request.User);
        if (ticket is null)
        {
            return refusal!;
        }

        var candidates = router.Candidates(caller.Tenant);
        audit.Received(context, caller, request.Model, request.User, candidates.Count > 0 ? candidates[0].Region : null);
        try
        {
            EmbeddingsAnswer? answer = null;
            Exception? last = null;
            var (region, route) = ((string?)null, (string?)null);
            foreach (var (candidateRegion, appId) in candidates)
            {
                try
                {
                    answer = await EmbedInCallsAsync(inference, appId, request.Model, inputs, context.RequestAborted);
                    (region, route) = (candidateRegion, appId);
                    break;
                }
                catch (UpstreamException e) when (e.StatusCode is null or >= 500 and not 503)
                {
                    last = e;
                }
                catch (OperationCanceledException e) when (!context.RequestAborted.IsCancellationRequested)
                {
                    // Not the client's cancellation: the call timed out (connecting to the sidecar), as unreachable.
                    last = e;
                }
            }

            if (answer is null)
            {
                throw last ?? new ResidencyException("No inference region is configured for your allowed regions.");
            }

            if (answer.Data.Count > 0)
            {
                dimensionsOf.Learn(request.Model, answer.Data[0].Length);
            }

            ticket.Settle(answer.PromptTokens);
            if (request.Dimensions is { } dimensions && answer.Data.Count > 0 && answer.Data[0].Length != dimensions)
            {
                // The model's length was not known yet: the inputs were embedded, so their tokens are charged.
                audit.Completed(context, caller, request.Model, request.User, RequestCompletedV1.Outcomes.Failed, answer.PromptTokens, region, route,
                    "unsupported_value");
                return OtherDimensions(request.Model, answer.Data[0].Length);
            }

            audit.Completed(context, caller, request.Model, request.User, RequestCompletedV1.Outcomes.Completed, answer.PromptTokens, region, route);
            var base64 = request.EncodingFormat == "base64";
            var data = answer.Data.Select((vector, i) => new EmbeddingItem("embedding", i,
                base64 ? Convert.ToBase64String(MemoryMarshal.AsBytes(vector.AsSpan())) : vector)).ToList();
            return TypedResults.Ok(new EmbeddingsResponse("list", data, request.Model, new EmbeddingsUsage(answer.PromptTokens, answer.PromptTokens)));
        }
        catch (Exception e) when (e is UpstreamException or ResidencyException or HttpRequestException
            || (e is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            // Nothing was embedded for the client (a timeout included: 504 upstream_timeout, as on chat).
            ticket.Settle(0);
            var result = UpstreamErrors.ToResult(e, context, loggers.CreateLogger(typeof(EmbeddingsApi)));
            audit.Completed(context, caller, request.Model, request.User, RequestCompletedV1.Outcomes.Failed, 0, errorCode: OpenAiError.CodeOf(result));
            return result;
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

    // OpenAI's smaller vectors come from models trained to be cut short; these are not, so asking for another length
    // is refused rather than answered with vectors of the wrong size.
    private static IResult OtherDimensions(string model, int length) =>
        UnsupportedValues.Refuse("dimensions", $"{model} returns {length}-dimensional vectors and cannot shorten them");

    /// <summary>The inputs in calls of at most <see cref="EmbeddingLimits.MaxInputsPerCall"/> to one inference app, concatenated in order.</summary>
    private static async Task<EmbeddingsAnswer> EmbedInCallsAsync(InferenceClient inference, string appId, string model, List<string> inputs, CancellationToken ct)
    {
        if (inputs.Count <= EmbeddingLimits.MaxInputsPerCall)
        {
            return await inference.EmbedAsync(appId, new EmbeddingsCall(model, inputs), ct);
        }

        var vectors = new List<float[]>(inputs.Count);
        var tokens = 0;
        var offset = 0;
        foreach (var chunk in inputs.Chunk(EmbeddingLimits.MaxInputsPerCall))
        {
            try
            {
                var part = await inference.EmbedAsync(appId, new EmbeddingsCall(model, chunk), ct);
                vectors.AddRange(part.Data);
                tokens += part.PromptTokens;
            }
            catch (UpstreamException e) when (offset > 0 && e.StatusCode == 400 && e.Body is { } body && body.Contains("context_length_exceeded", StringComparison.Ordinal))
            {
                // Inference names the input by its place in the call it got; the client sent it at offset + that place.
                var shifted = InputIndex().Replace(body, m => $"input[{int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture) + offset}]");
                throw new UpstreamException(e.AppId, e.StatusCode, e.Message, e, e.RetryAfter, shifted);
            }

            offset += chunk.Length;
        }

        return new EmbeddingsAnswer(model, vectors, tokens);
    }

    [GeneratedRegex(@"input\[(\d{1,4})\]")]
    private static partial Regex InputIndex();

    /// <summary>An array of token ids, or an array of such arrays (OpenAI's pre-tokenized input forms).</summary>
    private static bool IsTokenIds(JsonElement? input) =>
        input is { ValueKind: JsonValueKind.Array } array && array.GetArrayLength() > 0
        && (array.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number)
            || array.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Array && e.GetArrayLength() > 0 && e.EnumerateArray().All(t => t.ValueKind == JsonValueKind.Number)));

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
