using System.Collections.Concurrent;

namespace DaprLlm.Gateway.Embeddings;

/// <summary>
/// The vector length of each embedding model, learned from its answers, so a request asking for another length
/// (<c>dimensions</c>) is refused before any input is embedded. A length is trusted for <see cref="KeptFor"/>: a model
/// replaced by one of another size behind the same id is learned again.
/// </summary>
public sealed class EmbeddingDimensions(TimeProvider time)
{
    public static readonly TimeSpan KeptFor = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, (int Length, DateTimeOffset Until)> _byModel = new(StringComparer.Ordinal);

    /// <summary>The model's vector length when it answered recently; null when not known.</summary>
    public int? Known(string model) =>
        _byModel.TryGetValue(model, out var known) && known.Until > time.GetUtcNow() ? known.Length : null;

    public void Learn(string model, int length) => _byModel[model] = (length, time.GetUtcNow() + KeptFor);
}
