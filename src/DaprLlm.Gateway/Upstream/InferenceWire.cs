using System.Text.Json.Serialization;
using DaprLlm.Contracts.Inference;

namespace DaprLlm.Gateway.Upstream;

/// <summary>What the gateway sends to inference v1/generate(/stream): GenerationRequest plus optional sampling fields.</summary>
public sealed record GenerateCall(
    string RequestId,
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    int MaxTokens,
    double Temperature,
    int? Seed,
    double? TopP = null,
    int? TopK = null,
    IReadOnlyList<string>? Stop = null,
    double? PresencePenalty = null,
    double? FrequencyPenalty = null,
    IReadOnlyDictionary<string, double>? LogitBias = null);

/// <summary>One SSE event of inference v1/generate/stream.</summary>
public sealed record GenerateStreamEvent(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("text")] string? Text = null,
    [property: JsonPropertyName("finishReason")] string? FinishReason = null,
    [property: JsonPropertyName("promptTokens")] int PromptTokens = 0,
    [property: JsonPropertyName("completionTokens")] int CompletionTokens = 0,
    [property: JsonPropertyName("error")] System.Text.Json.JsonElement? Error = null);

/// <summary>inference v1/embeddings request and answer.</summary>
public sealed record EmbeddingsCall(string Model, IReadOnlyList<string> Input);

public sealed record EmbeddingsAnswer(string Model, IReadOnlyList<float[]> Data, int PromptTokens);
