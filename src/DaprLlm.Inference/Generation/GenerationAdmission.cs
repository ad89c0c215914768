using System.Text.Json;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Onnx;

namespace DaprLlm.Inference.Generation;

/// <summary>
/// Reads, validates and queues a generation request; everything a client can get wrong is answered here with a
/// 4xx before the request takes a batch slot.
/// </summary>
internal static class GenerationAdmission
{
    private static readonly string[] Roles = ["system", "user", "assistant"];

    public const int MaxStopSequences = 4;

    public static async Task<(GenerationJob? Job, LoadedModel? Model, IResult? Error)> AdmitAsync(HttpRequest http, ModelRegistry registry, CancellationToken cancellationToken,
        bool stream = true)
    {
        GenerationRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(http.Body, InferenceJson.Default.GenerationRequest, cancellationToken);
        }
        catch (JsonException e)
        {
            // The message names the offending member or position, never internal details.
            return (null, null, Errors.Result(400, $"invalid request body: {e.Message}", e.Path, "invalid_request"));
        }

        if (request is null)
        {
            return (null, null, Errors.Result(400, "the request body is empty", null, "invalid_request"));
        }

        if (string.IsNullOrEmpty(request.Model) || !registry.Contains(request.Model))
        {
            return (null, null, Errors.Result(404, $"the model '{request.Model}' does not exist", "model", "model_not_found"));
        }

        if (Validate(request) is { } invalid)
        {
            return (null, null, invalid);
        }

        LoadedModel model;
        try
        {
            model = await registry.GetAsync(request.Model).WaitAsync(cancellationToken);
        }
        catch (ModelLoadException)
        {
            return (null, null, Errors.Result(503, $"the model '{request.Model}' is unavailable", "model", "model_unavailable", registry.Options.RetryAfterSeconds));
        }

        if (model.Remote is { IsChat: true } remote)
        {
            return AdmitRemote(request, remote, model, registry, cancellationToken);
        }

        if (model.Scheduler is null || model.Template is null)
        {
            return (null, null, Errors.Result(400, $"the model '{request.Model}' is not a chat model", "model", "invalid_model"));
        }

        if (model.Stalled is not null)
        {
            // A hung step holds the batch: queueing more would only hang too; 503 lets the gateway use the fallback tier.
            return (null, null, Errors.Result(503, $"the model '{request.Model}' is stalled (a step is not returning); retry later", "model",
                "model_unavailable", registry.Options.RetryAfterSeconds));
        }

        var prompt = model.Template.Render(request.Messages);
        if (request.MaxTokens > model.ContextLength - prompt.Count) // not prompt + max: a max_tokens near int.MaxValue would wrap
        {
            return (null, null, Errors.Result(400,
                $"this model's context is {model.ContextLength} tokens; the messages take {prompt.Count} and max_tokens asks for {request.MaxTokens}",
                "max_tokens", "context_length_exceeded"));
        }

        var bias = LogitAdjuster.ParseBias(request.LogitBias);
        if (bias?.Keys.FirstOrDefault(id => id >= model.Scheduler.Vocabulary, -1) is { } outside and >= 0)
        {
            return (null, null, Errors.Result(400, $"logit_bias names token {outside}, but this model's vocabulary has {model.Scheduler.Vocabulary} tokens (0 to {model.Scheduler.Vocabulary - 1})",
                "logit_bias", "invalid_value"));
        }

        var parameters = new SamplingParameters(request.MaxTokens, request.Temperature, request.TopP ?? model.Sampling.TopP,
            request.TopK ?? model.Sampling.TopK, request.Seed, request.Stop ?? []);
        var job = new GenerationJob(prompt, parameters, cancellationToken, stream, TimeSpan.FromSeconds(registry.Options.GenerationTimeoutSeconds))
        {
            Logits = LogitAdjuster.For(request.PresencePenalty, request.FrequencyPenalty, bias),
        };
        if (!model.Scheduler.TryEnqueue(job))
        {
            return (null, null, Errors.Result(429, $"the model '{request.Model}' is at capacity; retry later", null, "queue_full", registry.Options.RetryAfterSeconds));
        }

        return (job, model, null);
    }

    /// <summary>A remote model counts its own prompt tokens; only max_tokens can be checked against a configured context here.</summary>
    private static (GenerationJob? Job, LoadedModel? Model, IResult? Error) AdmitRemote(GenerationRequest request, Remote.RemoteModel remote,
        LoadedModel model, ModelRegistry registry, CancellationToken cancellationToken)
    {
        if (model.ContextLength > 0 && request.MaxTokens > model.ContextLength)
        {
            return (null, null, Errors.Result(400, $"this model's context is {model.ContextLength} tokens; max_tokens asks for {request.MaxTokens}",
                "max_tokens", "context_length_exceeded"));
        }

        var parameters = new SamplingParameters(request.MaxTokens, request.Temperature, request.TopP ?? 1.0, request.TopK ?? 0, request.Seed,
            request.Stop ?? []);
        var job = new GenerationJob([], parameters, cancellationToken);
        // The remote endpoint applies the controls itself; logit_bias ids are its tokenizer's.
        var controls = new Remote.RemoteSampling(request.PresencePenalty, request.FrequencyPenalty, LogitAdjuster.ParseBias(request.LogitBias));
        return remote.TryStart(job, request.Messages, controls)
            ? (job, model, null)
            : (null, null, Errors.Result(429, $"the model '{request.Model}' is at capacity; retry later", null, "queue_full", registry.Options.RetryAfterSeconds));
    }

    private static IResult? Validate(GenerationRequest r)
    {
        if (r.Messages is not { Count: > 0 })
        {
            return Errors.Result(400, "messages must not be empty", "messages", "invalid_value");
        }

        for (var i = 0; i < r.Messages.Count; i++)
        {
            var m = r.Messages[i];
            if (m is null || !Roles.Contains(m.Role) || m.Content is null)
            {
                return Errors.Result(400, $"messages[{i}] needs a role (system, user, assistant) and content", $"messages[{i}]", "invalid_value");
            }
        }

        if (r.MaxTokens < 1)
        {
            return Errors.Result(400, "max_tokens must be at least 1", "max_tokens", "invalid_value");
        }

        if (double.IsNaN(r.Temperature) || r.Temperature is < 0 or > 2)
        {
            return Errors.Result(400, "temperature must be between 0 and 2", "temperature", "invalid_value");
        }

        if (r.TopP is { } topP && (double.IsNaN(topP) || topP is <= 0 or > 1))
        {
            return Errors.Result(400, "top_p must be in (0, 1]", "top_p", "invalid_value");
        }

        if (r.TopK is < 0)
        {
            return Errors.Result(400, "top_k must not be negative", "top_k", "invalid_value");
        }

        if (r.Stop is { } stop && (stop.Count > MaxStopSequences || stop.Any(string.IsNullOrEmpty)))
        {
            return Errors.Result(400, $"stop takes up to {MaxStopSequences} non-empty strings", "stop", "invalid_value");
        }

        if (SamplingLimits.Check(r.PresencePenalty, r.FrequencyPenalty, r.LogitBias) is { } sampling)
        {
            return Errors.Result(400, sampling.Message, sampling.Param, "invalid_value");
        }

        return null;
    }
}
