namespace DaprLlm.Contracts.Inference;

/// <summary>What the gateway asks the inference app to generate.</summary>
public sealed record GenerationRequest(
    string RequestId,
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    int MaxTokens,
    double Temperature,
    int? Seed);
