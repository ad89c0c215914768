namespace DaprLlm.Contracts.Inference;

/// <summary>POST v1/embeddings on the inference app: texts to embed with an embedding model of the catalog.</summary>
public sealed record EmbeddingRequest(string Model, IReadOnlyList<string> Input);

/// <summary>One unit-length vector per input, in input order, and the tokens the model read.</summary>
public sealed record EmbeddingResult(string Model, IReadOnlyList<float[]> Data, int PromptTokens);
