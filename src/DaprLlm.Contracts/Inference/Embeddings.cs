namespace DaprLlm.Contracts.Inference;

/// <summary>
/// POST v1/embeddings on the inference app: texts to embed with an embedding model of the catalog. A text longer than
/// the model reads is refused (400 context_length_exceeded), as OpenAI does, unless <paramref name="Truncate"/> asks for
/// its first tokens to be embedded instead (what the safety layer's heads were trained on).
/// </summary>
public sealed record EmbeddingRequest(string Model, IReadOnlyList<string> Input, bool Truncate = false);

/// <summary>Limits of the inference app's v1/embeddings that callers split their work by.</summary>
public static class EmbeddingLimits
{
    /// <summary>Texts in one call; the gateway sends an OpenAI request of up to 2,048 inputs in calls of this size.</summary>
    public const int MaxInputsPerCall = 256;
}

/// <summary>One unit-length vector per input, in input order, and the tokens the model read.</summary>
public sealed record EmbeddingResult(string Model, IReadOnlyList<float[]> Data, int PromptTokens);
