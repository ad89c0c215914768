using System.Text.Json;
using DaprLlm.Gateway.Errors;

namespace DaprLlm.Gateway.OpenAi;

/// <summary>
/// OpenAI parameters the gateway reads but does not act on. Clients send most of them by default with values that ask
/// for nothing (<c>logprobs: false</c>, <c>tool_choice: "auto"</c>, <c>response_format: {"type":"text"}</c>), so those
/// pass. A value that asks for something the models here cannot do (log probabilities, JSON mode, a forced tool call,
/// an echoed prompt) is refused with 400 <c>unsupported_value</c>, as OpenAI refuses values a model does not support:
/// answering as if it had been honoured would hand the client prose where it expects JSON or a tool call.
/// </summary>
public static class UnsupportedValues
{
    /// <summary>The first chat parameter in <paramref name="extra"/> whose value cannot be honoured, as an error; null when none.</summary>
    public static IResult? CheckChat(IReadOnlyDictionary<string, JsonElement>? extra)
    {
        if (extra is null)
        {
            return null;
        }

        foreach (var (name, value) in extra)
        {
            var refused = name switch
            {
                "logprobs" => IsTrue(value),
                "top_logprobs" => IsPositiveNumber(value),
                "response_format" => value.ValueKind == JsonValueKind.Object
                    && !(value.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "text"),
                // "none" and "auto" leave the choice to the model, which here never calls a tool; "required" or a named
                // function would force a call it cannot make.
                "tool_choice" or "function_call" => !IsNullOrOneOf(value, "none", "auto"),
                "modalities" => value.ValueKind == JsonValueKind.Array && value.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String || m.GetString() != "text"),
                "audio" => value.ValueKind != JsonValueKind.Null,
                _ => false,
            };
            if (refused)
            {
                return Refuse(name);
            }
        }

        return null;
    }

    /// <summary>As <see cref="CheckChat"/> for the legacy text completions parameters.</summary>
    public static IResult? CheckCompletion(IReadOnlyDictionary<string, JsonElement>? extra)
    {
        if (extra is null)
        {
            return null;
        }

        foreach (var (name, value) in extra)
        {
            var refused = name switch
            {
                "echo" => IsTrue(value),
                // Legacy logprobs is a count; 0 still asks for the chosen token's log probability.
                "logprobs" => value.ValueKind is JsonValueKind.Number or JsonValueKind.True,
                "best_of" => value.ValueKind == JsonValueKind.Number && !(value.TryGetInt32(out var n) && n == 1),
                "suffix" => value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 },
                _ => false,
            };
            if (refused)
            {
                return Refuse(name);
            }
        }

        return null;
    }

    /// <summary>The 400 for a parameter whose value the models of this deployment cannot honour.</summary>
    public static IResult Refuse(string name, string? why = null) =>
        OpenAiError.InvalidRequest(
            $"Unsupported value for '{name}': {why ?? "the models of this deployment do not support it"}. Leave it out or use its default.",
            name, "unsupported_value");

    private static bool IsTrue(JsonElement value) => value.ValueKind == JsonValueKind.True;

    private static bool IsPositiveNumber(JsonElement value) => value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && d > 0;

    private static bool IsNullOrOneOf(JsonElement value, params string[] allowed) =>
        value.ValueKind == JsonValueKind.Null || (value.ValueKind == JsonValueKind.String && allowed.Contains(value.GetString()));
}
