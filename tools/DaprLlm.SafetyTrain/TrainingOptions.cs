namespace DaprLlm.SafetyTrain;

/// <summary>What to train from, where to write, and the knobs that make a run reproducible.</summary>
internal sealed record TrainingOptions(string DataFolder, string OutputFolder)
{
    public int Folds { get; init; } = 5;

    public int Seed { get; init; } = 13;

    public int FeatureBits { get; init; } = 18;

    public int MaxChars { get; init; } = 4096;

    public string Version { get; init; } = "1";

    /// <summary>MiniLM tokens embedded per text; 0 trains an n-gram-only model.</summary>
    public int EmbedTokens { get; init; } = 128;

    /// <summary>
    /// The MiniLM graph to embed with (the int8 copy the service runs, models/safety/minilm-l6-int8.onnx); null uses
    /// the exact float model. Training and serving must use the same graph: the heads learn its vectors.
    /// </summary>
    public string? EmbedModel { get; init; }

    /// <summary>Parallel jobs (featurizing, embedding, heads); the machine's two cores are shared, so a sweep can use 1.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Stop after the cross-validated metrics (for sweeps): no final heads, model files or model card.</summary>
    public bool CrossValidateOnly { get; init; }

    /// <summary>Embedding pooling: null (mean, 384 numbers) or "mean-max" (768, same ONNX pass).</summary>
    public string? EmbedPooling { get; init; }

    /// <summary>Weight of the (unit-length) embedding against the (unit-length) n-gram vector.</summary>
    public double EmbeddingScale { get; init; } = 1.0;

    /// <summary>Sample weight of a Davidson tweet (25k noisy, 83% offensive rows would otherwise dominate).</summary>
    public float DavidsonWeight { get; init; } = 0.15f;

    /// <summary>L2 penalty of the logistic heads (per update, on the features a row touches).</summary>
    public double L2 { get; init; } = 1e-6;

    /// <summary>Cap on the class-balancing weight of a positive row (rare categories have 100+ negatives per positive).</summary>
    public double MaxPositiveWeight { get; init; } = 8;

    /// <summary>SGD passes over the rows of a head.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Sample weight of an OpenAI moderation row: the set closest to LLM traffic, and the only one labelled for most categories.</summary>
    public float OpenAiWeight { get; init; } = 1f;

    /// <summary>
    /// Benign files of the shared schema kept in the repo (every row a negative for every head), by default the everyday
    /// chat prompts and demo-model answers of tools/DaprLlm.SafetyTrain/data: the shared sources have almost no short
    /// ordinary questions and no model answers.
    /// </summary>
    public IReadOnlyList<string> BenignFiles { get; init; } = [];

    /// <summary>Folder of benign evaluation sets (models/safety/eval) the written model is checked on for the model card, or null.</summary>
    public string? EverydaySets { get; init; }

    /// <summary>Where to write every row's out-of-fold margins per head (JSONL), or null.</summary>
    public string? DumpMarginsPath { get; init; }

    /// <summary>Reviewer decisions exported by the safety app (GET /review/feedback.jsonl) to train on as well.</summary>
    public IReadOnlyList<string> FeedbackFiles { get; init; } = [];

    /// <summary>Sample weight of a reviewer label (one considered human decision, on the product's own traffic).</summary>
    public float FeedbackWeight { get; init; } = 1f;
}
