using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Tokenization;

namespace DaprLlm.Inference.Catalog;

/// <summary>A chat model ready to serve: its tokenizer, chat template, context length and batch scheduler.</summary>
public sealed class LoadedModel(string id, ModelTokenizer tokenizer, ChatTemplate template, int contextLength, string executionProvider, BatchScheduler scheduler) : IDisposable
{
    public string Id { get; } = id;

    public ModelTokenizer Tokenizer { get; } = tokenizer;

    public ChatTemplate Template { get; } = template;

    public int ContextLength { get; } = contextLength;

    public string ExecutionProvider { get; } = executionProvider;

    public BatchScheduler Scheduler { get; } = scheduler;

    public void Dispose() => Scheduler.Dispose();
}
