using DaprLlm.Contracts.Safety;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.OpenAi;

namespace DaprLlm.Gateway.Chat;

/// <summary>Checks a parsed request the way OpenAI does; returns the error to send, or null when valid.</summary>
public static class ChatCompletionValidator
{
    // "developer" is OpenAI's newer name for the system role; it reaches the model as "system" (ChatCompletionsApi).
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant"];

    // OpenAI parameters the gateway accepts and ignores (clients send them by default); anything else is rejected
    // as OpenAI does ("Unrecognized request argument supplied").
    private static readonly HashSet<string> Ignored =
    [
        "logprobs", "top_logprobs", "response_format", "tools",
        "tool_choice", "parallel_tool_calls", "store", "metadata", "service_tier", "modalities", "reasoning_effort",
        "prediction", "audio", "functions", "function_call", "web_search_options", "verbosity", "prompt_cache_key",
        "safety_identifier",
    ];

    public static IResult? Validate(ChatCompletionRequest request, ChatOptions options, Caller caller)
    {
        if (request.Extra?.Keys.FirstOrDefault(k => !Ignored.Contains(k)) is { } unknown)
        {
            return OpenAiError.InvalidRequest($"Unrecognized request argument supplied: {unknown}", unknown, "unknown_parameter");
        }

        if (UnsupportedValues.CheckChat(request.Extra) is { } unsupported)
        {
            return unsupported;
        }

        if (string.IsNullOrWhiteSpace(request.Model))
        {
            return OpenAiError.InvalidRequest("you must provide a model parameter", "model", "missing_required_parameter");
        }

        if (request.Model != ChatOptions.AutoModel && (!options.Models.Contains(request.Model, StringComparer.Ordinal) || !caller.Tenant.MayUse(request.Model)))
        {
            return ModelNotFound(request.Model);
        }

        if (request.Messages is not { Count: > 0 })
        {
            return OpenAiError.InvalidRequest("'messages' must be a non-empty array", "messages", "missing_required_parameter");
        }

        if (request.Messages.Count > ModerationLimits.MaxConversationMessages)
        {
            // Every message is moderated with the conversation; the safety app takes at most this many.
            return OpenAiError.InvalidRequest($"'messages' may hold at most {ModerationLimits.MaxConversationMessages} messages", "messages", "invalid_value");
        }

        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            if (message?.Role == "tool")
            {
                // Only a model that called a tool gets its result back; the models here never call one.
                return UnsupportedValues.Refuse($"messages[{i}].role", "tool results are not supported: the models of this deployment do not call tools");
            }

            if (message is null || message.Role is null || !Roles.Contains(message.Role))
            {
                return OpenAiError.InvalidRequest($"messages[{i}].role must be one of {string.Join(", ", Roles)}", $"messages[{i}].role", "invalid_value");
            }

            if (message.Content is null)
            {
                return OpenAiError.InvalidRequest($"messages[{i}].content must be a string", $"messages[{i}].content", "invalid_type");
            }
        }

        var maxTokens = request.MaxCompletionTokens ?? request.MaxTokens;
        if (maxTokens is { } m && (m < 1 || m > options.MaxTokensLimit))
        {
            return OpenAiError.InvalidRequest($"max_tokens must be between 1 and {options.MaxTokensLimit}", "max_tokens", "invalid_value");
        }

        if (request.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 2))
        {
            return OpenAiError.InvalidRequest("temperature must be between 0 and 2", "temperature", "invalid_value");
        }

        if (request.TopP is { } p && (double.IsNaN(p) || p <= 0 || p > 1))
        {
            return OpenAiError.InvalidRequest("top_p must be greater than 0 and at most 1", "top_p", "invalid_value");
        }

        if (DaprLlm.Contracts.Inference.SamplingLimits.Check(request.PresencePenalty, request.FrequencyPenalty, request.LogitBias) is { } sampling)
        {
            return OpenAiError.InvalidRequest(sampling.Message, sampling.Param, "invalid_value");
        }

        if (request.N is { } n && n != 1)
        {
            return OpenAiError.InvalidRequest("n must be 1 on this deployment", "n", "invalid_value");
        }

        if (request.Stop is { } stop && (stop.Count > 4 || stop.Any(s => s.Length is 0 or > 256)))
        {
            return OpenAiError.InvalidRequest("stop takes at most 4 non-empty sequences of up to 256 characters", "stop", "invalid_value");
        }

        if (request.User is { Length: > 256 })
        {
            return OpenAiError.InvalidRequest("user must be at most 256 characters", "user", "invalid_value");
        }

        if (request.StreamOptions is not null && request.Stream != true)
        {
            return OpenAiError.InvalidRequest("stream_options is only allowed when stream is true", "stream_options", "invalid_value");
        }

        return null;
    }

    public static IResult ModelNotFound(string model) =>
        OpenAiError.Result(StatusCodes.Status404NotFound, "invalid_request_error", "model_not_found",
            $"The model '{model}' does not exist or you do not have access to it.", "model");
}
