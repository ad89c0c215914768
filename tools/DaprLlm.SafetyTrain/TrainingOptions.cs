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

    /// <summary>Weight of the (unit-length) embedding against the (unit-length) n-gram vector.</summary>
    public double EmbeddingScale { get; init; } = 1.0;

    /// <summary>Sample weight of a Davidson tweet (25k noisy, 83% offensive rows would otherwise dominate).</summary>
    public float DavidsonWeight { get; init; } = 0.15f;
}
