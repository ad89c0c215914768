using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Tokenizers;

namespace DaprLlm.Embeddings;

/// <summary>
/// all-MiniLM-L6-v2 sentence embeddings: BERT word pieces, one ONNX Runtime pass per batch, mean pooling over the
/// attention mask, L2 normalization (what sentence-transformers does for this model). Thread-safe.
/// </summary>
public sealed class SentenceEmbedder : IDisposable
{
    /// <summary>Vector length of all-MiniLM-L6-v2.</summary>
    public const int Dimensions = 384;

    /// <summary>The model's public name.</summary>
    public const string ModelName = "all-MiniLM-L6-v2";

    private readonly SentenceEmbedderOptions _options;
    private readonly BertTokenizer _tokenizer;
    private readonly InferenceSession _session;

    /// <param name="options">Truncation and batching; defaults when null.</param>
    /// <param name="sessionOptions">ONNX Runtime options chosen by the host (for example with the CUDA provider appended); CPU defaults when null.</param>
    public SentenceEmbedder(SentenceEmbedderOptions? options = null, SessionOptions? sessionOptions = null)
    {
        _options = options ?? new SentenceEmbedderOptions();
        _options.Validate();

        using (var vocabulary = MiniLmResources.OpenVocabulary())
        {
            _tokenizer = BertTokenizer.Create(vocabulary, new BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true });
        }

        var model = _options.ModelPath is { } path ? File.ReadAllBytes(path) : MiniLmResources.ReadModel();
        if (sessionOptions is null)
        {
            using var cpu = new SessionOptions { IntraOpNumThreads = _options.IntraOpThreads };
            _session = new InferenceSession(model, cpu);
        }
        else
        {
            _session = new InferenceSession(model, sessionOptions);
        }
    }

    /// <summary>Length of the vectors this embedder returns (<see cref="Dimensions"/>, twice that for <see cref="EmbeddingPooling.MeanMax"/>).</summary>
    public int VectorLength => VectorLengthOf(_options.Pooling);

    /// <summary>Length of the vectors a pooling gives.</summary>
    public static int VectorLengthOf(EmbeddingPooling pooling) => pooling == EmbeddingPooling.MeanMax ? 2 * Dimensions : Dimensions;

    /// <summary>Number of model tokens <paramref name="text"/> becomes, [CLS] and [SEP] included, after truncation.</summary>
    public int CountTokens(string text) => Tokenize(text).Length;

    /// <summary>
    /// Number of model tokens <paramref name="text"/> would be without truncation ([CLS] and [SEP] included), or null when
    /// it fits in <see cref="SentenceEmbedderOptions.MaxTokens"/>. Encodes only up to the limit for a text that fits.
    /// </summary>
    public int? TokensIfTooLong(string text)
    {
        var limit = _options.MaxTokens - 2;
        _ = _tokenizer.EncodeToIds(text, limit, addSpecialTokens: false, out var normalized, out var consumed, considerPreTokenization: true, considerNormalization: true);
        if (consumed >= (normalized ?? text).Length)
        {
            return null;
        }

        // Stopped early: the rest has more tokens, unless it is only what the encoder skips (trailing spaces).
        var all = _tokenizer.EncodeToIds(text, addSpecialTokens: false, considerPreTokenization: true, considerNormalization: true).Count;
        return all <= limit ? null : all + 2;
    }

    /// <summary>Embeds one text.</summary>
    public float[] Embed(string text) => Embed([text]).Vectors[0];

    /// <summary>Embeds many texts; vectors come back in input order.</summary>
    public EmbeddingBatch Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var vectors = new float[texts.Count][];
        var counts = new int[texts.Count];
        for (var start = 0; start < texts.Count; start += _options.MaxBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var size = Math.Min(_options.MaxBatchSize, texts.Count - start);
            var ids = new long[size][];
            for (var i = 0; i < size; i++)
            {
                ids[i] = Tokenize(texts[start + i] ?? throw new ArgumentException("A text to embed is null.", nameof(texts)));
                counts[start + i] = ids[i].Length;
            }

            var batch = RunBatch(ids);
            Array.Copy(batch, 0, vectors, start, size);
        }

        return new EmbeddingBatch(vectors, counts);
    }

    private long[] Tokenize(string text)
    {
        // Long texts: encode only a little past the limit instead of the whole text. The bounded encoder stops at a word
        // boundary, so it is asked for a margin more and cut; when it returns fewer than the limit, the text is short
        // (or a huge word straddles the limit) and the full encoding decides, so the ids are always the truncated ones.
        var limit = _options.MaxTokens - 2;
        var pieces = _tokenizer.EncodeToIds(text, limit + 32, addSpecialTokens: false, out _, out _, considerPreTokenization: true, considerNormalization: true);
        if (pieces.Count < limit)
        {
            pieces = _tokenizer.EncodeToIds(text, addSpecialTokens: false, considerPreTokenization: true, considerNormalization: true);
        }

        var kept = Math.Min(pieces.Count, limit);
        var ids = new long[kept + 2];
        ids[0] = _tokenizer.ClassificationTokenId;
        for (var i = 0; i < kept; i++)
        {
            ids[i + 1] = pieces[i];
        }

        ids[kept + 1] = _tokenizer.SeparatorTokenId;
        return ids;
    }

    private float[][] RunBatch(long[][] ids)
    {
        var rows = ids.Length;
        var width = ids.Max(row => row.Length);
        var inputIds = new DenseTensor<long>([rows, width]);
        var mask = new DenseTensor<long>([rows, width]);
        var types = new DenseTensor<long>([rows, width]);
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < ids[r].Length; c++)
            {
                inputIds[r, c] = ids[r][c];
                mask[r, c] = 1;
            }
        }

        var inputs = new[]
        {
            NamedOnnxValue.CreateFromTensor("input_ids", inputIds),
            NamedOnnxValue.CreateFromTensor("attention_mask", mask),
            NamedOnnxValue.CreateFromTensor("token_type_ids", types),
        };
        using var results = _session.Run(inputs, ["last_hidden_state"]);
        var hidden = results[0].AsTensor<float>();
        return _options.Pooling == EmbeddingPooling.MeanMax ? MeanMaxPool(hidden, ids) : MeanPoolAndNormalize(hidden, ids);
    }

    // Mean over the real (unpadded) tokens of each row, then scale to unit length.
    private static float[][] MeanPoolAndNormalize(Tensor<float> hidden, long[][] ids)
    {
        var vectors = new float[ids.Length][];
        for (var r = 0; r < ids.Length; r++)
        {
            var vector = new float[Dimensions];
            var tokens = ids[r].Length;
            for (var t = 0; t < tokens; t++)
            {
                for (var d = 0; d < Dimensions; d++)
                {
                    vector[d] += hidden[r, t, d];
                }
            }

            var norm = 0.0;
            for (var d = 0; d < Dimensions; d++)
            {
                vector[d] /= tokens;
                norm += vector[d] * vector[d];
            }

            var scale = (float)(1.0 / Math.Max(Math.Sqrt(norm), 1e-12));
            for (var d = 0; d < Dimensions; d++)
            {
                vector[d] *= scale;
            }

            vectors[r] = vector;
        }

        return vectors;
    }

    // The unit mean, then the unit per-dimension maximum, both divided by sqrt(2) so the whole vector has unit length.
    private static float[][] MeanMaxPool(Tensor<float> hidden, long[][] ids)
    {
        var means = MeanPoolAndNormalize(hidden, ids);
        var vectors = new float[ids.Length][];
        var half = (float)(1 / Math.Sqrt(2));
        for (var r = 0; r < ids.Length; r++)
        {
            var vector = new float[2 * Dimensions];
            var max = vector.AsSpan(Dimensions);
            max.Fill(float.NegativeInfinity);
            for (var t = 0; t < ids[r].Length; t++)
            {
                for (var d = 0; d < Dimensions; d++)
                {
                    max[d] = Math.Max(max[d], hidden[r, t, d]);
                }
            }

            var norm = 0.0;
            for (var d = 0; d < Dimensions; d++)
            {
                norm += max[d] * max[d];
            }

            var scale = (float)(half / Math.Max(Math.Sqrt(norm), 1e-12));
            for (var d = 0; d < Dimensions; d++)
            {
                vector[d] = means[r][d] * half;
                max[d] *= scale;
            }

            vectors[r] = vector;
        }

        return vectors;
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
