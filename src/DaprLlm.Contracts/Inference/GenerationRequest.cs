namespace DaprLlm.Contracts.Inference;

/// <summary>What the gateway asks the inference app to generate (POST v1/generate and v1/generate/stream).</summary>
/// <remarks>Temperature 0 means greedy decoding; the same seed and input give the same output whatever else runs.</remarks>
public sealed record GenerationRequest(
    string RequestId,
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    int MaxTokens,
    double Temperature,
    int? Seed,
    double? TopP = null,
    int? TopK = null,
    IReadOnlyList<string>? Stop = null);
