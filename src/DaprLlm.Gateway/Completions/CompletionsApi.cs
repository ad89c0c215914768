using System.Text.Json;
using System.Text.Json.Serialization;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.OpenAi;
using DaprLlm.Gateway.Quotas;
using DaprLlm.Gateway.Upstream;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Completions;

/// <summary>
/// POST /{version}/completions (OpenAI's legacy text completions): the prompt becomes one user message and goes
/// through the same pipeline as chat (quotas, bounded admission, breaker fallback, moderation, residency, audit), whole
/// or streamed. Not cached: the caches hold chat answers.
/// </summary>
public static class CompletionsApi
{
    private static readonly HashSet<string> Ignored = ["logprobs", "best_of", "echo", "suffix"];

    public static RouteGroupBuilder MapCompletions(this RouteGroupBuilder api)
    {
        api.MapPost("/completions", Complete).Accepts<CompletionRequest>("application/json");
        return api;
    }

    private static async Task<IResult> Complete(HttpContext context, GenerationPipeline pipeline, QuotaService quotas, Review.ReviewWebhooks webhooks,
        Audit.RefusalAudit refusals, Backpressure.AdmissionGates gates, Routing.ModelCircuitBreaker breaker, IOptions<ChatOptions> options, TimeProvider time,
        ILoggerFactory loggers)
    {
        var caller = context.GetCaller();
        var (request, error) = await JsonBody.ReadAsync<CompletionRequest>(context.Request, options.Value.MaxRequestBytes);
        if (error is not null)
        {
            return error;
        }

        if (request!.Extra?.Keys.FirstOrDefault(k => !Ignored.Contains(k)) is { } unknown)
        {
            return OpenAiError.InvalidRequest($"Unrecognized request argument supplied: {unknown}", unknown, "unknown_parameter");
        }

        if (UnsupportedValues.CheckCompletion(request.Extra) is { } unsupported)
        {
            return unsupported;
        }

        if (!CompletionPrompt.TryRead(request.Prompt, out var prompt, out var badPrompt))
        {
            return badPrompt;
        }

        var chat = new ChatCompletionRequest
        {
            Model = request.Model, Messages = [new ChatCompletionMessage("user", prompt)], MaxTokens = request.MaxTokens,
            Temperature = request.Temperature, TopP = request.TopP, Seed = request.Seed, N = request.N, Stop = request.Stop, User = request.User,
            PresencePenalty = request.PresencePenalty, FrequencyPenalty = request.FrequencyPenalty, LogitBias = request.LogitBias,
            Stream = request.Stream, StreamOptions = request.StreamOptions, // validated as on chat: stream_options needs stream
        };
        if (ChatCompletionValidator.Validate(chat, options.Value, caller) is { } invalid)
        {
            return invalid;
        }

        if (!webhooks.TryRead(context.Request, out var webhook))
        {
            return ChatCompletionsApi.InvalidWebhook();
        }

        if (ModerationParameter.Resolve(request.Moderation, caller.Tenant.StreamingPolicy) is not { } policy)
        {
            return ChatCompletionsApi.InvalidModeration();
        }

        var maxTokens = request.MaxTokens ?? 16;
        var estimate = GenerationContext.EstimatePromptTokens([prompt]);
        var model = request.Model == ChatOptions.AutoModel ? AutoModel.Pick(options.Value, caller.Tenant, estimate + maxTokens) : request.Model!;
        if (model is null)
        {
            return ChatCompletionValidator.ModelNotFound(ChatOptions.AutoModel);
        }

        var routed = breaker.Route(model);
        if (!caller.Tenant.MayUse(routed))
        {
            // A fallback the tenant may not use is no fallback for it: the asked model answers (or fails) as without one.
            routed = model;
        }

        var fallback = routed != model;
        if (fallback)
        {
            // As for chat: the asked model's backend is failing, its configured fallback answers and the client is told.
            context.Response.Headers["x-daprllm-fallback-model"] = routed;
            model = routed;
        }

        var (ticket, refusal) = await Admission.AdmitAsync(context, quotas, estimate + maxTokens, time, refusals, request.Model!, model, request.User);
        if (ticket is null)
        {
            return refusal!;
        }

        var g = new GenerationContext(RequestIdFilter.Get(context), caller, model, [new DaprLlm.Contracts.Inference.ChatMessage("user", prompt)], maxTokens,
            request.Temperature ?? 1.0, request.Seed, request.TopP, request.Stop, request.User, policy, estimate, ticket)
        {
            RequestedModel = request.Model!, FallbackUsed = fallback, ApiVersion = ChatCompletionsApi.ApiVersionOf(context), ReviewWebhook = webhook,
            Controls = SamplingControls.From(chat),
        };
        IDisposable? place = null;
        try
        {
            place = await gates.For(model).EnterAsync(caller.Tier, context.RequestAborted);
            if (place is null)
            {
                ticket.Settle(0);
                refusals.Refused(context, caller, request.Model!, model, request.User, RequestCompletedV1.Outcomes.Shed, Backpressure.Shedding.Code);
                return Backpressure.Shedding.Overloaded(context.Response);
            }

            var input = await pipeline.CheckInputAsync(g, context.RequestAborted);
            if (!input.IsAllowed)
            {
                ticket.Settle(0);
                pipeline.Received(g, null);
                pipeline.Publish(g, RequestCompletedV1.Outcomes.RefusedInput, null, 0, 0, input.Decision, null, null, null);
                await pipeline.RememberReviewAsync(g, input, context.RequestAborted);
                return Refusals.Input(input);
            }

            pipeline.Received(g, pipeline.PlannedRegion(g));
            if (request.Stream == true)
            {
                // Same moderation policies as chat streams (buffer, window, async), text_completion chunks.
                await ChatStream.RunAsync(context, pipeline, g, input, request.StreamOptions?.IncludeUsage == true, options.Value, time,
                    loggers.CreateLogger(typeof(CompletionsApi)), textCompletion: true);
                return Results.Empty;
            }

            var (generation, region) = await pipeline.GenerateAsync(g, context.RequestAborted);
            var output = await pipeline.CheckOutputAsync(g, input, generation, region, context.RequestAborted);
            // As chat: charged once the answer is decided; a failed output check settles 0 in the catch below.
            ticket.Settle(generation.PromptTokens + generation.CompletionTokens);
            await pipeline.RememberReviewAsync(g, output, context.RequestAborted);
            var (text, finish, outcome) = output.IsAllowed
                ? (generation.Text, generation.FinishReason, RequestCompletedV1.Outcomes.Completed)
                : ("", "content_filter", RequestCompletedV1.Outcomes.FilteredOutput);
            pipeline.Publish(g, outcome, finish, generation.PromptTokens, generation.CompletionTokens, input.Decision, output.Decision, region, generation.Text);
            if (output.IsReview)
            {
                // As chat: the answer is held, and the client learns which review holds it.
                return Refusals.OutputReview(output);
            }

            return TypedResults.Ok(new CompletionResponse(g.RequestId, "text_completion", time.GetUtcNow().ToUnixTimeSeconds(), generation.Model,
                [new CompletionChoice(text, 0, null, finish)],
                new ChatCompletionUsage(generation.PromptTokens, generation.CompletionTokens, generation.PromptTokens + generation.CompletionTokens)));
        }
        catch (Exception e) when (e is UpstreamException or ResidencyException or BackendFailedException or Dapr.DaprException or HttpRequestException
            || (e is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            ticket.Settle(0);
            pipeline.Publish(g, RequestCompletedV1.Outcomes.Failed, null, 0, 0, null, null, null, null);
            return context.Response.HasStarted ? Results.Empty : UpstreamErrors.ToResult(e, context, loggers.CreateLogger(typeof(CompletionsApi)));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (while queued or generating): only the prompt estimate is charged.
            ticket.Settle(estimate);
            return Results.Empty;
        }
        finally
        {
            // Whatever ended the request (an exception no catch above expected included), its reservation goes back:
            // a leaked one would hold the key's concurrency slot and leased tokens on every replica. No-op if settled.
            ticket.Settle(estimate);
            place?.Dispose();
        }
    }
}

/// <summary>OpenAI's text completion request.</summary>
public sealed record CompletionRequest
{
    [JsonPropertyName("model")] public string? Model { get; init; }

    [JsonPropertyName("prompt")] public JsonElement? Prompt { get; init; }

    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; init; }

    [JsonPropertyName("temperature")] public double? Temperature { get; init; }

    [JsonPropertyName("top_p")] public double? TopP { get; init; }

    [JsonPropertyName("seed")] public int? Seed { get; init; }

    [JsonPropertyName("n")] public int? N { get; init; }

    [JsonPropertyName("stop")][JsonConverter(typeof(StopConverter))] public List<string>? Stop { get; init; }

    [JsonPropertyName("stream")] public bool? Stream { get; init; }

    [JsonPropertyName("stream_options")] public StreamOptions? StreamOptions { get; init; }

    /// <summary>The inline moderation parameter, as on chat: a stricter stream policy than the tenant's.</summary>
    [JsonPropertyName("moderation")] public JsonElement? Moderation { get; init; }

    [JsonPropertyName("user")] public string? User { get; init; }

    [JsonPropertyName("presence_penalty")] public double? PresencePenalty { get; init; }

    [JsonPropertyName("frequency_penalty")] public double? FrequencyPenalty { get; init; }

    [JsonPropertyName("logit_bias")] public Dictionary<string, double>? LogitBias { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>OpenAI's text_completion answer.</summary>
public sealed record CompletionResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<CompletionChoice> Choices,
    [property: JsonPropertyName("usage")] ChatCompletionUsage Usage);

/// <summary>One streamed text_completion event.</summary>
public sealed record CompletionChunk(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<CompletionChunkChoice> Choices);

/// <summary>A streamed text completion choice; finish_reason is null until the last event.</summary>
public sealed record CompletionChunkChoice(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("logprobs")] object? Logprobs,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

/// <summary>One text completion choice.</summary>
public sealed record CompletionChoice(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("logprobs")] object? Logprobs,
    [property: JsonPropertyName("finish_reason")] string FinishReason);
