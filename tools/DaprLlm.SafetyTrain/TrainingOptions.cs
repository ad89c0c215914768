namespace DaprLlm.SafetyTrain;

/// <summary>What to train from, where to write, and the knobs that make a run reproducible.</summary>
internal sealed record TrainingOptions(string DataFolder, string OutputFolder)
{
    public int Folds { get; init; } = 5;

    public int Seed { get; init; } = 13;

    public int FeatureBits { get; init; } = 18;

    public int MaxChars { get; init; } = 4096;

    public string Version { get; init; } = "1";
}
