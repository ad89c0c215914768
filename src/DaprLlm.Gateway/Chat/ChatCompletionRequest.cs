using System.Text.Json;
using System.Text.Json.Serialization;

namespace DaprLlm.Gateway.Chat;

/// <summary>OpenAI's chat completion request as the gateway reads it. Other OpenAI fields land in <see cref="Extra"/>.</summary>
public sealed record ChatCompletionRequest
{
    [JsonPropertyName("model")] public string? Model { get; init; }

    [JsonPropertyName("messages")] public List<ChatCompletionMessage>? Messages { get; init; }

    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; init; }

    [JsonPropertyName("max_completion_tokens")] public int? MaxCompletionTokens { get; init; }

    [JsonPropertyName("temperature")] public double? Temperature { get; init; }

    [JsonPropertyName("top_p")] public double? TopP { get; init; }

    [JsonPropertyName("seed")] public int? Seed { get; init; }

    [JsonPropertyName("n")] public int? N { get; init; }

    [JsonPropertyName("stop")] [JsonConverter(typeof(StopConverter))] public List<string>? Stop { get; init; }

    [JsonPropertyName("stream")] public bool? Stream { get; init; }

    [JsonPropertyName("stream_options")] public StreamOptions? StreamOptions { get; init; }

    [JsonPropertyName("user")] public string? User { get; init; }

    [JsonPropertyName("presence_penalty")] public double? PresencePenalty { get; init; }

    [JsonPropertyName("frequency_penalty")] public double? FrequencyPenalty { get; init; }

    /// <summary>Token id (the served model's tokenizer) to a bias in [-100, 100].</summary>
    [JsonPropertyName("logit_bias")] public Dictionary<string, double>? LogitBias { get; init; }

    /// <summary>DaprLlm extension: <c>{"stream_policy":"buffer|window|async"}</c>, only as strict as the tenant's policy or stricter; moderation cannot be turned off.</summary>
    [JsonPropertyName("moderation")] public JsonElement? Moderation { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>stream_options of a streamed request.</summary>
public sealed record StreamOptions([property: JsonPropertyName("include_usage")] bool? IncludeUsage);

/// <summary>One message of a chat completion request or response; content may arrive as a string or text parts.</summary>
public sealed record ChatCompletionMessage(
    [property: JsonPropertyName("role")] string? Role,
    [property: JsonPropertyName("content")][property: JsonConverter(typeof(MessageContentConverter))] string? Content);

/// <summary>Reads OpenAI message content: a string, or an array of parts of which only text parts are supported.</summary>
public sealed class MessageContentConverter : JsonConverter<string?>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("content must be a string or an array of content parts");
        }

        var text = new System.Text.StringBuilder();
        using var parts = JsonDocument.ParseValue(ref reader);
        foreach (var part in parts.RootElement.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.GetString() != "text"
                || !part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
            {
                throw new JsonException("only text content parts ({\"type\":\"text\",\"text\":\"...\"}) are supported");
            }

            text.Append(t.GetString());
        }

        return text.ToString();
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>OpenAI's stop: a string or an array of up to 4 strings.</summary>
public sealed class StopConverter : JsonConverter<List<string>?>
{
    public override List<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return [reader.GetString()!];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("stop must be a string or an array of strings");
        }

        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            list.Add(reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException("stop must be a string or an array of strings"));
        }

        return list;
    }

    public override void Write(Utf8JsonWriter writer, List<string>? value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, options);
}
