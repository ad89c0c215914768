using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using DaprLlm.Embeddings;
using DaprLlm.Safety.Classification.Features;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Classification.Models;

/// <summary>
/// Calibrated per-category probabilities from one shared feature pass: every head is a linear model over the
/// same vector (hashed n-grams of the text, plus the MiniLM embedding of its first tokens when the model was trained
/// with one), so all categories cost one featurization, at most one embedding and one dot product each. A text longer
/// than the featurizer reads is scored in windows (<see cref="TextWindows"/>), each as a short text, and per category
/// the highest window score counts.
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
    /// with <see cref="ScoreWithEmbeddings"/>.
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

    /// <summary>
    /// The pieces the heads score <paramref name="text"/> in: the text itself when it fits in the featurizer's
    /// <see cref="SafetyModelManifest.MaxChars"/>, else its overlapping windows (see <see cref="TextWindows"/>).
    /// </summary>
    public IReadOnlyList<string> Windows(string text) => TextWindows.Split(text, Featurizer.MaxChars);

    /// <summary>What an embedding source must embed for <paramref name="text"/>: each window's embedded prefix, in window order.</summary>
    public IReadOnlyList<string> EmbeddingInputs(string text)
    {
        var maxTokens = Manifest.Embedding?.MaxTokens ?? throw new InvalidOperationException("this model reads no embedding");
        return [.. Windows(text).Select(w => EmbeddingInput.Prefix(w, maxTokens))];
    }

    /// <summary>
    /// Calibrated probability per category. A text longer than one window scores, per category, the highest of its
    /// windows' scores, each window scored exactly as a short text is.
    /// </summary>
    public Dictionary<string, double> Score(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (NeedsEmbedding && _embedder is null)
        {
            throw new InvalidOperationException("this model was loaded without an in-process embedder: score with an embedding from the embedding source");
        }

        var windows = Windows(text);
        return ScoreWindows(windows, _embedder?.Embed(windows).Vectors, 0);
    }

    /// <summary>
    /// <see cref="Score(string)"/> from embeddings computed elsewhere: one per entry of <see cref="EmbeddingInputs"/>, each
    /// exactly the in-process embedder's vector.
    /// </summary>
    public Dictionary<string, double> ScoreWithEmbeddings(string text, IReadOnlyList<float[]> embeddings)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(embeddings);
        var expected = Manifest.Embedding?.Length ?? throw new InvalidOperationException("this model reads no embedding");
        var windows = Windows(text);
        if (embeddings.Count != windows.Count)
        {
            throw new EmbeddingsUnavailableException($"the embedding source returned {embeddings.Count} vectors for {windows.Count} windows");
        }

        foreach (var embedding in embeddings)
        {
            if (embedding?.Length != expected)
            {
                throw new EmbeddingsUnavailableException($"the embedding source returned {embedding?.Length ?? 0} numbers, the model reads {expected}");
            }
        }

        return ScoreWindows(windows, embeddings, 0);
    }

    /// <summary>Scores many texts, each exactly as <see cref="Score(string)"/> would (one embedding call per window).</summary>
    public IReadOnlyList<Dictionary<string, double>> ScoreBatch(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        // As Score does: without this, a remote-embedding model scored n-grams only and its scores looked valid.
        if (NeedsEmbedding && _embedder is null)
        {
            throw new InvalidOperationException("this model was loaded without an in-process embedder: score with an embedding from the embedding source");
        }

        var windows = texts.Select(Windows).ToList();
        var embeddings = _embedder?.Embed([.. windows.SelectMany(w => w)]).Vectors;
        var scores = new List<Dictionary<string, double>>(texts.Count);
        var offset = 0;
        foreach (var textWindows in windows)
        {
            scores.Add(ScoreWindows(textWindows, embeddings, offset));
            offset += textWindows.Count;
        }

        return scores;
    }

    // Per category the highest window score: a harmful passage anywhere makes the text harmful. Derived categories are
    // computed inside each window (see Score below), then maxed like the others.
    private Dictionary<string, double> ScoreWindows(IReadOnlyList<string> windows, IReadOnlyList<float[]>? embeddings, int offset)
    {
        var scores = Score(windows[0], embeddings?[offset]);
        for (var w = 1; w < windows.Count; w++)
        {
            foreach (var (category, score) in Score(windows[w], embeddings?[offset + w]))
            {
                if (score > scores[category])
                {
                    scores[category] = score;
                }
            }
        }

        return scores;
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
            // Per window, from that window's own scores: a cue qualifies the passage it is in. Over the whole text, a
            // "how to" anywhere in 200,000 characters would lift a self-harm score from another passage to the
            // instructions category, and illicit/violent (the smaller of the two) would fire for an illicit passage
            // and a separate violent one, though no passage is both.
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
