namespace DaprLlm.Contracts.Inference;

/// <summary>Embedding model ids of the inference catalog that other apps name in their calls.</summary>
public static class EmbeddingModels
{
    /// <summary>all-MiniLM-L6-v2 (float, 256 tokens, batched): /v1/embeddings and the gateway's semantic cache.</summary>
    public const string MiniLm = "all-minilm-l6-v2";

    /// <summary>
    /// The safety ML layer's graph served as is: models/safety/minilm-l6-int8.onnx over the first 64 tokens, mean
    /// pooled, one text per ONNX call, on CPU: exactly the vectors the safety heads were trained on.
    /// </summary>
    public const string SafetyMiniLm = "minilm-l6-safety";
}
