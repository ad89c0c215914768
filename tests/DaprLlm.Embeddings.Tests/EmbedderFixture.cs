using DaprLlm.Embeddings;

namespace DaprLlm.Embeddings.Tests;

/// <summary>One loaded model for the whole test class: loading takes about a second.</summary>
public sealed class EmbedderFixture : IDisposable
{
    public SentenceEmbedder Embedder { get; } = new();

    public void Dispose() => Embedder.Dispose();
}
