using System.ComponentModel.DataAnnotations;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;

namespace DaprLlm.Safety.Moderation;

/// <summary>Where the ML layer's MiniLM vectors are computed.</summary>
public enum EmbeddingSource
{
    /// <summary>In this process, on the int8 graph beside the model (ONNX Runtime on CPU).</summary>
    InProcess,

    /// <summary>The inference app's v1/embeddings through Dapr service invocation (the catalog's copy of the same graph).</summary>
    InferenceService,
}

/// <summary>
/// Configuration section "Moderation:Embeddings". With <see cref="EmbeddingSource.InferenceService"/> a check whose
/// embedding cannot be had within <see cref="TimeoutMilliseconds"/> fails closed: the moderation route answers 503
/// (no verdict, nothing cached), so the gateway refuses the request rather than pass it unscored.
/// </summary>
public sealed class ModerationEmbeddingsOptions
{
    public const string Section = "Moderation:Embeddings";

    public EmbeddingSource Source { get; set; } = EmbeddingSource.InProcess;

    /// <summary>The inference catalog's embedding model that serves the safety graph.</summary>
    [Required, MinLength(1)]
    public string Model { get; set; } = EmbeddingModels.SafetyMiniLm;

    /// <summary>The inference app id called through the sidecar.</summary>
    [Required, MinLength(1)]
    public string AppId { get; set; } = AppIds.Inference;

    /// <summary>
    /// How long one embedding call may take (the call's own deadline; Dapr resiliency gives the inference target no
    /// retries and a generation-sized timeout, so this is the only bound a check has).
    /// </summary>
    [Range(10, 60_000)]
    public int TimeoutMilliseconds { get; set; } = 2_000;
}
