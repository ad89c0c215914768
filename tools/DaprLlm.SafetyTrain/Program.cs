using System.Globalization;
using DaprLlm.SafetyTrain;

// Usage: dotnet run -c Release --project tools/DaprLlm.SafetyTrain -- <data folder> <output folder> [--folds 5] [--seed 13] [--bits 18]
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: DaprLlm.SafetyTrain <data folder> <output folder> [--folds N] [--seed N] [--bits N] [--version V] [--embed-tokens N] [--embed-scale X]");
    return 2;
}

var options = new TrainingOptions(args[0], args[1])
{
    Folds = IntOption("--folds", 5),
    Seed = IntOption("--seed", 13),
    FeatureBits = IntOption("--bits", 18),
    Version = StringOption("--version", "1"),
    EmbedTokens = IntOption("--embed-tokens", 128),
    EmbeddingScale = double.Parse(StringOption("--embed-scale", "1.0"), CultureInfo.InvariantCulture),
    DavidsonWeight = float.Parse(StringOption("--davidson-weight", "0.15"), CultureInfo.InvariantCulture),
};
return new TrainingRun(options, Console.Out).Run();

int IntOption(string name, int fallback) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

string StringOption(string name, string fallback) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
