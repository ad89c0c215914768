namespace DaprLlm.Contracts.Inference;

/// <summary>GET v1/models on the inference app: the catalog this replica serves.</summary>
public sealed record ModelList(IReadOnlyList<ModelDescriptor> Models);

/// <summary>
/// One catalog entry. Kind: chat or embedding; tier: small or large; provider: onnx or openai; executionProvider:
/// CUDA or CPU once loaded (null before), remote for openai models; region: this replica's region; status: ready,
/// loading, not_loaded, failed, or stalled (a step runs past Inference:StepTimeoutSeconds).
/// </summary>
public sealed record ModelDescriptor(
    string Id,
    string Kind,
    string Tier,
    IReadOnlyList<string> Regions,
    int ContextLength,
    string Provider,
    string? ExecutionProvider,
    string Region,
    string Status);
