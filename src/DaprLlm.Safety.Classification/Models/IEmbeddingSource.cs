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

    /// <summary>
    /// The vectors of <paramref name="texts"/> in order (a long text's windows), each exactly what <see cref="EmbedAsync"/>
    /// returns for it. This default asks one at a time; a source that can send a list in one call overrides it.
    /// </summary>
    async ValueTask<IReadOnlyList<float[]>> EmbedManyAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var vectors = new float[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            vectors[i] = await EmbedAsync(texts[i], cancellationToken);
        }

        return vectors;
    }
}

/// <summary>The embedding source failed, timed out or answered something unusable; the check cannot be scored.</summary>
public sealed class EmbeddingsUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
