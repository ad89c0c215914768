using DaprLlm.Embeddings;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Remote;
using DaprLlm.Inference.Tokenization;

namespace DaprLlm.Inference.Catalog;

/// <summary>A loaded catalog entry: a local chat model (tokenizer, template, scheduler), a local embedding model (embedder) or a remote model.</summary>
public sealed class LoadedModel : IDisposable
{
    public LoadedModel(string id, ModelTokenizer tokenizer, ChatTemplate template, int contextLength, string executionProvider, BatchScheduler scheduler,
        SamplingDefaults sampling)
    {
        Id = id;
        Sampling = sampling;
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

    public LoadedModel(string id, RemoteModel remote, int contextLength)
    {
        Id = id;
        Remote = remote;
        ContextLength = contextLength;
        ExecutionProvider = ExecutionProviderNames.Remote;
    }

    public string Id { get; }

    public ModelTokenizer? Tokenizer { get; }

    public ChatTemplate? Template { get; }

    public int ContextLength { get; }

    /// <summary>top_p / top_k for requests that leave them unset (the model folder's recommendation, else OpenAI's).</summary>
    public SamplingDefaults Sampling { get; } = SamplingDefaults.OpenAi;

    public string ExecutionProvider { get; }

    public BatchScheduler? Scheduler { get; }

    public SentenceEmbedder? Embedder { get; }

    public RemoteModel? Remote { get; }

    /// <summary>False while the model's last decode step or remote call failed (reported as status "failed").</summary>
    public bool Healthy => Scheduler?.Healthy != false && Remote?.Healthy != false;

    /// <summary>Why the model is stalled (an ONNX Runtime call past Inference:StepTimeoutSeconds), or null.</summary>
    public string? Stalled => Scheduler?.Watchdog.Stalled;

    public void Dispose()
    {
        Scheduler?.Dispose();
        Embedder?.Dispose();
        Remote?.Dispose();
    }
}
