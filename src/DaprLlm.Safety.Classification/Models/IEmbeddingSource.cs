namespace DaprLlm.Safety.Classification.Models;

/// <summary>
/// Computes the ML layer's MiniLM vectors outside this process (the inference service's embedding endpoint). It must
/// return exactly what the manifest's in-process embedder would (<see cref="LinearSafetyModel.CreateEmbedder"/>): the
/// heads were trained on those vectors.
/// </summary>
public interface IEmbeddingSource
{
    /// <summary>The vector of <paramref name="text"/>; throws <see cref="EmbeddingsUnavailableException"/> when it cannot.</summary>
    ValueTask<float[]> EmbedAsync(string text, CancellationToken cancellationToken);
}

/// <summary>The embedding source failed, timed out or answered something unusable; the check cannot be scored.</summary>
public sealed class EmbeddingsUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
