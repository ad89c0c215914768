namespace DaprLlm.Embeddings;

/// <summary>How the embedder runs.</summary>
public sealed class SentenceEmbedderOptions
{
    /// <summary>Tokens per text including [CLS] and [SEP]; longer texts are truncated (all-MiniLM-L6-v2 was trained on 256).</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>Texts per ONNX Runtime call; larger batches are split.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Threads ONNX Runtime may use inside one call; 0 lets it choose.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// An ONNX file with the same inputs and output to run instead of the embedded float model (the safety layer's
    /// int8 copy, models/safety/minilm-l6-int8.onnx); null runs the exact float model, as /v1/embeddings must.
    /// </summary>
    public string? ModelPath { get; init; }

    /// <summary>
    /// How token states become one vector: <see cref="EmbeddingPooling.Mean"/> (all-MiniLM-L6-v2's own pooling, what
    /// /v1/embeddings returns) or <see cref="EmbeddingPooling.MeanMax"/> for classifiers (twice as long, same cost).
    /// </summary>
    public EmbeddingPooling Pooling { get; init; } = EmbeddingPooling.Mean;

    internal void Validate()
    {
        if (MaxTokens is < 3 or > 512)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, "MaxTokens must be between 3 and 512 (the model's position limit).");
        }

        if (MaxBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "MaxBatchSize must be at least 1.");
        }

        if (ModelPath is not null && !File.Exists(ModelPath))
        {
            throw new FileNotFoundException($"The embedding model {ModelPath} does not exist.", ModelPath);
        }

        if (IntraOpThreads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads cannot be negative.");
        }
    }
}
