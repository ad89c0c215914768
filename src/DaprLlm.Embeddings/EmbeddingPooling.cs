namespace DaprLlm.Embeddings;

/// <summary>How the token states of one text are pooled into its vector.</summary>
public enum EmbeddingPooling
{
    /// <summary>Mean over the tokens, unit length: the sentence-transformers vector (384 numbers).</summary>
    Mean,

    /// <summary>
    /// The unit-length mean, then the unit-length per-dimension maximum over the tokens, the whole scaled to unit
    /// length (768 numbers). The maximum keeps a strong signal of one token that the mean of a long text dilutes;
    /// both come from the same ONNX pass, so a classifier gets it at no extra model cost.
    /// </summary>
    MeanMax,
}
