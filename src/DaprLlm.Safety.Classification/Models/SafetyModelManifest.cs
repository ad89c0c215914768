using System.Text.Json.Serialization;
using DaprLlm.Embeddings;
using DaprLlm.Safety.Classification.Policies;

namespace DaprLlm.Safety.Classification.Models;

/// <summary>The JSON description of a trained model (models/safety/safety-model.json): featurizer, heads, default policy.</summary>
public sealed record SafetyModelManifest(
    string Name,
    string Version,
    int FeatureBits,
    int MaxChars,
    string WeightsFile,
    IReadOnlyList<HeadManifest> Heads,
    IReadOnlyList<DerivedCategory> Derived,
    SafetyPolicy DefaultPolicy,
    EmbeddingManifest? Embedding = null);

/// <summary>
/// The dense half of the features: the MiniLM sentence embedding of the first <see cref="MaxTokens"/> tokens,
/// multiplied by <see cref="Scale"/> and appended after the hashed n-gram buckets. <see cref="File"/> names the ONNX
/// graph beside the manifest that computes it (the int8 copy made by tools/quantize-minilm); null means the exact
/// float model embedded in DaprLlm.Embeddings. The heads were trained on that graph's vectors, so it is part of the model.
/// <see cref="Pooling"/>: null or "mean" (384 numbers), "mean-max" (768: see <see cref="EmbeddingPooling.MeanMax"/>).
/// </summary>
public sealed record EmbeddingManifest(string Model, int MaxTokens, double Scale, string? File = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Pooling = null)
{
    public const string MeanMax = "mean-max";

    /// <summary>The embedder's pooling this manifest names; an unknown name is refused rather than read as another.</summary>
    [JsonIgnore]
    public EmbeddingPooling PoolingMode => Pooling switch
    {
        null or "mean" => EmbeddingPooling.Mean,
        MeanMax => EmbeddingPooling.MeanMax,
        _ => throw new InvalidDataException($"unknown embedding pooling '{Pooling}' (expected 'mean' or '{MeanMax}')"),
    };

    /// <summary>Numbers the embedding appends to the features.</summary>
    [JsonIgnore]
    public int Length => SentenceEmbedder.VectorLengthOf(PoolingMode);
}

/// <summary>One trained linear head: its category, bias and calibration; its weights are in the weights file, in this order.</summary>
public sealed record HeadManifest(string Category, double Bias, double CalibrationA, double CalibrationB, double WeightScale);

/// <summary>A category with no training labels of its own, scored from a trained one (see <see cref="DerivedScores"/>).</summary>
public sealed record DerivedCategory(string Category, string Rule, string Source, string? SecondSource = null);

[JsonSerializable(typeof(SafetyModelManifest))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
