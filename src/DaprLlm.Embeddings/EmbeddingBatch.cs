namespace DaprLlm.Embeddings;

/// <summary>Unit-length vectors, one per input text, and the token counts the model actually read.</summary>
public sealed record EmbeddingBatch(IReadOnlyList<float[]> Vectors, IReadOnlyList<int> TokenCounts)
{
    /// <summary>Sum of the token counts (what an OpenAI-style usage report bills).</summary>
    public int TotalTokens => TokenCounts.Sum();
}
