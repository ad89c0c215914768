using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using DaprLlm.Gateway.Errors;

namespace DaprLlm.Gateway.Completions;

/// <summary>
/// The legacy completions <c>prompt</c>: OpenAI accepts a string, an array of strings (one choice set per prompt), an
/// array of token ids or an array of such arrays. One text prompt is served: a string or an array holding one string.
/// The other forms get an error that says what to send instead.
/// </summary>
public static class CompletionPrompt
{
    public static bool TryRead(JsonElement? prompt, [NotNullWhen(true)] out string? text, [NotNullWhen(false)] out IResult? error)
    {
        (text, error) = Read(prompt);
        return text is not null;
    }

    private static (string? Prompt, IResult? Error) Read(JsonElement? prompt)
    {
        if (prompt is not { } value || value.ValueKind == JsonValueKind.Null)
        {
            return (null, OpenAiError.InvalidRequest("you must provide a prompt", "prompt", "missing_required_parameter"));
        }

        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 1 && value[0].ValueKind == JsonValueKind.String)
        {
            value = value[0];
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString() is { Length: > 0 } given
                ? (given, null)
                : (null, OpenAiError.InvalidRequest("prompt must not be empty", "prompt", "invalid_value"));
        }

        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 1 && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
        {
            return (null, OpenAiError.InvalidRequest(
                $"prompt holds {value.GetArrayLength()} prompts; this gateway completes one prompt per request: send one request per prompt",
                "prompt", "unsupported_value"));
        }

        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0 && value.EnumerateArray().All(e => e.ValueKind is JsonValueKind.Number or JsonValueKind.Array))
        {
            return (null, OpenAiError.InvalidRequest("token-id prompts are not supported (token ids differ between models): send the prompt as text",
                "prompt", "unsupported_value"));
        }

        return (null, OpenAiError.InvalidRequest("prompt must be a string or an array of one string", "prompt", "invalid_type"));
    }
}
