using DaprLlm.Embeddings;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Tokenization;

namespace DaprLlm.Inference.Catalog;

/// <summary>A loaded catalog entry: a chat model (tokenizer, template, scheduler) or an embedding model (embedder).</summary>
public sealed class LoadedModel : IDisposable
{
    public LoadedModel(string id, ModelTokenizer tokenizer, ChatTemplate template, int contextLength, string executionProvider, BatchScheduler scheduler)
    {
        Id = id;
        Tokenizer = tokenizer;
        Template = template;
        ContextLength = contextLength;
        ExecutionProvider = executionProvider;
        Scheduler = scheduler;
    }

    public LoadedModel(string id, SentenceEmbedder embedder, int contextLength, string executionProvider)
    {
        Id = id;
        Embedder = embedder;
        ContextLength = contextLength;
        ExecutionProvider = executionProvider;
    }

    public string Id { get; }

    public ModelTokenizer? Tokenizer { get; }

    public ChatTemplate? Template { get; }

    public int ContextLength { get; }

    public string ExecutionProvider { get; }

    public BatchScheduler? Scheduler { get; }

    public SentenceEmbedder? Embedder { get; }

    public void Dispose()
    {
        Scheduler?.Dispose();
        Embedder?.Dispose();
    }
}
