using DaprLlm.Gateway.Errors;

namespace DaprLlm.Gateway.Chat;

/// <summary>Checks a parsed request the way OpenAI does; returns the error to send, or null when valid.</summary>
public static class ChatCompletionValidator
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static IResult? Validate(ChatCompletionRequest request, ChatOptions options)
    {
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            return OpenAiError.InvalidRequest("you must provide a model parameter", "model", "missing_required_parameter");
        }

        if (!options.Models.Contains(request.Model, StringComparer.Ordinal) && request.Model != "auto")
        {
            return OpenAiError.Result(StatusCodes.Status404NotFound, "invalid_request_error", "model_not_found",
                $"The model '{request.Model}' does not exist or you do not have access to it.", "model");
        }

        if (request.Messages is not { Count: > 0 })
        {
            return OpenAiError.InvalidRequest("'messages' must be a non-empty array", "messages", "missing_required_parameter");
        }

        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            if (message is null || message.Role is null || !Roles.Contains(message.Role))
            {
                return OpenAiError.InvalidRequest($"messages[{i}].role must be one of {string.Join(", ", Roles)}", $"messages[{i}].role");
            }

            if (message.Content is null)
            {
                return OpenAiError.InvalidRequest($"messages[{i}].content must be a string", $"messages[{i}].content");
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

        if (request.Stream == true)
        {
            return OpenAiError.InvalidRequest("streaming is not available in this version of DaprLlm yet", "stream", "unsupported_parameter");
        }

        return null;
    }
}
