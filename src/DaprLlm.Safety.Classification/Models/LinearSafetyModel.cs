using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using DaprLlm.Embeddings;
using DaprLlm.Safety.Classification.Features;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Classification.Models;

/// <summary>
/// Calibrated per-category probabilities from one shared feature pass: every head is a linear model over the
/// same vector (hashed n-grams of the whole text, plus the MiniLM embedding of its first tokens when the model was
/// trained with one), so all categories cost one featurization, at most one embedding and one dot product each.
/// </summary>
public sealed class LinearSafetyModel : IDisposable
{
    private readonly SentenceEmbedder? _embedder;
    private readonly float[][] _weights;
    private readonly HeadManifest[] _heads;

    /// <param name="embedder">An embedder to share; when null and the model needs one, it creates its own.</param>
    /// <param name="directory">Where the manifest's embedding graph file is (the manifest's folder).</param>
    /// <param name="embedInProcess">
    /// false: no embedder in this process; the caller computes each vector elsewhere (the inference service) and scores
    /// with <see cref="ScoreWithEmbedding"/>.
    /// </param>
    public LinearSafetyModel(SafetyModelManifest manifest, float[][] weights, SentenceEmbedder? embedder = null, string? directory = null, bool embedInProcess = true)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Length != manifest.Heads.Count)
        {
            throw new InvalidDataException($"the model has {manifest.Heads.Count} heads but {weights.Length} weight vectors");
        }

        Manifest = manifest;
        Featurizer = new HashedTextFeaturizer(manifest.FeatureBits, manifest.MaxChars);
        Dimension = WeightCount(manifest);
        foreach (var w in weights)
        {
            if (w.Length != Dimension)
            {
                throw new InvalidDataException($"a weight vector has {w.Length} entries, expected {Dimension}");
            }
        }

        _weights = weights;
        if (manifest.Embedding is { } embedding)
        {
            if (embedding.Model != SentenceEmbedder.ModelName)
            {
                throw new InvalidDataException($"the model needs embeddings of {embedding.Model}; only {SentenceEmbedder.ModelName} is available");
            }

            _embedder = embedder ?? (embedInProcess ? CreateEmbedder(embedding, directory ?? AppContext.BaseDirectory) : null);
        }

        _heads = [.. manifest.Heads];
        Categories = [.. manifest.Heads.Select(h => h.Category).Concat(manifest.Derived.Select(d => d.Category))];
    }

    public SafetyModelManifest Manifest { get; }

    /// <summary>
    /// The embedder a manifest asks for. One intra-op thread: the service runs many checks at once on few cores, and
    /// a second thread per call only adds hand-offs between them (measured in bench/DaprLlm.Bench.Safety --breakdown).
    /// One text per ONNX call: the int8 graph quantizes activations with one scale per call (DynamicQuantizeLinear),
    /// so a text's vector would depend on the other texts of its batch; the service embeds one text at a time, and
    /// the evaluation tool and the training tool must see exactly those vectors.
    /// </summary>
    public static SentenceEmbedder CreateEmbedder(EmbeddingManifest embedding, string directory)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        return new SentenceEmbedder(new SentenceEmbedderOptions
        {
            MaxTokens = embedding.MaxTokens,
            MaxBatchSize = 1,
            ModelPath = embedding.File is null ? null : Path.Combine(directory, embedding.File),
            IntraOpThreads = 1,
            Pooling = embedding.PoolingMode,
        });
    }

    public HashedTextFeaturizer Featurizer { get; }

    /// <summary>Weights per head: the hash buckets, then the embedding dimensions if any.</summary>
    public int Dimension { get; }

    public static int WeightCount(SafetyModelManifest manifest) =>
        (1 << manifest.FeatureBits) + (manifest.Embedding?.Length ?? 0);

    /// <summary>Trained heads first, then derived categories.</summary>
    public IReadOnlyList<string> Categories { get; }

    /// <summary>Whether the heads read a MiniLM embedding besides the n-grams.</summary>
    public bool NeedsEmbedding => Manifest.Embedding is not null;

    /// <summary>Calibrated probability per category.</summary>
    public Dictionary<string, double> Score(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (NeedsEmbedding && _embedder is null)
        {
            throw new InvalidOperationException("this model was loaded without an in-process embedder: score with an embedding from the embedding source");
        }

        return Score(text, _embedder?.Embed(text));
    }

    /// <summary>Calibrated probability per category from an embedding computed elsewhere (exactly the in-process embedder's vector).</summary>
    public Dictionary<string, double> ScoreWithEmbedding(string text, float[] embedding)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(embedding);
        var expected = Manifest.Embedding?.Length ?? throw new InvalidOperationException("this model reads no embedding");
        if (embedding.Length != expected)
        {
            throw new EmbeddingsUnavailableException($"the embedding source returned {embedding.Length} numbers, the model reads {expected}");
        }

        return Score(text, embedding);
    }

    /// <summary>Scores many texts, each exactly as <see cref="Score(string)"/> would (one embedding call per text).</summary>
    public IReadOnlyList<Dictionary<string, double>> ScoreBatch(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        // As Score does: without this, a remote-embedding model scored n-grams only and its scores looked valid.
        if (NeedsEmbedding && _embedder is null)
        {
            throw new InvalidOperationException("this model was loaded without an in-process embedder: score with an embedding from the embedding source");
        }

        var embeddings = _embedder?.Embed(texts).Vectors;
        return [.. texts.Select((text, i) => Score(text, embeddings?[i]))];
    }

    private Dictionary<string, double> Score(string text, float[]? embedding)
    {
        var vector = Featurizer.Featurize(text);
        if (embedding is not null)
        {
            vector = FeatureVectors.Append(vector, embedding, Featurizer.Dimension, (float)Manifest.Embedding!.Scale);
        }

        var scores = new Dictionary<string, double>(Categories.Count, StringComparer.Ordinal);
        for (var h = 0; h < _heads.Length; h++)
        {
            var head = _heads[h];
            var margin = Margin(_weights[h], head.Bias, vector);
            scores[head.Category] = new PlattCalibration(head.CalibrationA, head.CalibrationB).Apply(margin);
        }

        if (Manifest.Derived.Count > 0)
        {
            var folded = TextNormalizer.Matching.Normalize(text.Length > Featurizer.MaxChars ? text[..Featurizer.MaxChars] : text).Text;
            foreach (var derived in Manifest.Derived)
            {
                scores[derived.Category] = DerivedScores.Compute(derived, folded, scores);
            }
        }

        return scores;
    }

    public void Dispose() => _embedder?.Dispose();

    internal static double Margin(float[] weights, double bias, SparseVector vector)
    {
        var sum = bias;
        var indices = vector.Indices;
        var values = vector.Values;
        for (var i = 0; i < indices.Length; i++)
        {
            sum += weights[indices[i]] * values[i];
        }

        return sum;
    }

    /// <summary>Loads the manifest and its gzip-compressed int16 weights (one vector per head, scaled by the head's WeightScale).</summary>
    /// <param name="embedder">An embedder to use instead of the one the manifest names (benchmarks compare graphs with it).</param>
    /// <param name="embedInProcess">false: no in-process embedder (see the constructor).</param>
    public static LinearSafetyModel Load(string manifestPath, SentenceEmbedder? embedder = null, bool embedInProcess = true)
    {
        var manifest = JsonSerializer.Deserialize(File.ReadAllText(manifestPath), ManifestJsonContext.Default.SafetyModelManifest)
            ?? throw new InvalidDataException($"{manifestPath} is empty");
        var dimension = WeightCount(manifest);
        var weightsPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(manifestPath))!, manifest.WeightsFile);
        using var file = File.OpenRead(weightsPath);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        var raw = new byte[dimension * 2];
        var weights = new float[manifest.Heads.Count][];
        for (var h = 0; h < weights.Length; h++)
        {
            gzip.ReadExactly(raw);
            var scale = (float)manifest.Heads[h].WeightScale;
            var w = new float[dimension];
            for (var i = 0; i < dimension; i++)
            {
                w[i] = BinaryPrimitives.ReadInt16LittleEndian(raw.AsSpan(i * 2)) * scale;
            }

            weights[h] = w;
        }

        return new LinearSafetyModel(manifest, weights, embedder, Path.GetDirectoryName(Path.GetFullPath(manifestPath)), embedInProcess);
    }

    /// <summary>Writes the manifest (with each head's quantisation scale filled in) and the weights next to it.</summary>
    public static void Save(string manifestPath, SafetyModelManifest manifest, float[][] weights)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(weights);
        var heads = new List<HeadManifest>();
        var weightsPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(manifestPath))!, manifest.WeightsFile);
        using (var file = File.Create(weightsPath))
        using (var gzip = new GZipStream(file, CompressionLevel.SmallestSize))
        {
            for (var h = 0; h < weights.Length; h++)
            {
                var max = weights[h].Max(MathF.Abs);
                var scale = max == 0 ? 1f : max / short.MaxValue;
                var raw = new byte[weights[h].Length * 2];
                for (var i = 0; i < weights[h].Length; i++)
                {
                    BinaryPrimitives.WriteInt16LittleEndian(raw.AsSpan(i * 2), (short)Math.Round(weights[h][i] / scale));
                }

                gzip.Write(raw);
                heads.Add(manifest.Heads[h] with { WeightScale = scale });
            }
        }

        File.WriteAllText(manifestPath, JsonSerializer.Serialize(manifest with { Heads = heads }, ManifestJsonContext.Default.SafetyModelManifest));
    }
}
