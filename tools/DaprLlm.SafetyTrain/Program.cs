using System.Globalization;
using DaprLlm.SafetyTrain;

// Usage: dotnet run -c Release --project tools/DaprLlm.SafetyTrain -- <data folder> <output folder> [--folds 5] [--seed 13] [--bits 18]
//   [--feedback <feedback.jsonl>]... : also train on reviewer decisions exported by the safety app (GET /review/feedback.jsonl).
//   [--threads N] [--cv-only] : sweep runs on one core, stopping after the cross-validated metrics.
//   [--embed-pooling mean-max] : mean and max pooled MiniLM token states (768 numbers, same ONNX pass).
//   [--benign <file.jsonl>]... : benign rows kept in the repo (default: the two files of tools/DaprLlm.SafetyTrain/data; --no-benign for none).
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: DaprLlm.SafetyTrain <data folder> <output folder> [--folds N] [--seed N] [--bits N] [--version V] [--embed-tokens N] [--embed-scale X] [--embed-model <minilm.onnx>] [--feedback <feedback.jsonl>]... [--feedback-weight X]");
    return 2;
}

var options = new TrainingOptions(args[0], args[1])
{
    Folds = IntOption("--folds", 5),
    Seed = IntOption("--seed", 13),
    FeatureBits = IntOption("--bits", 18),
    Version = StringOption("--version", "1"),
    EmbedTokens = IntOption("--embed-tokens", 128),
    EmbedPooling = Array.IndexOf(args, "--embed-pooling") is var ep and >= 0 && ep + 1 < args.Length ? args[ep + 1] : null,
    Threads = IntOption("--threads", 2),
    CrossValidateOnly = args.Contains("--cv-only"),
    EmbeddingScale = double.Parse(StringOption("--embed-scale", "1.0"), CultureInfo.InvariantCulture),
    DavidsonWeight = float.Parse(StringOption("--davidson-weight", "0.15"), CultureInfo.InvariantCulture),
    L2 = double.Parse(StringOption("--l2", "1e-6"), CultureInfo.InvariantCulture),
    Epochs = IntOption("--epochs", 10),
    MaxPositiveWeight = double.Parse(StringOption("--max-positive-weight", "8"), CultureInfo.InvariantCulture),
    OpenAiWeight = float.Parse(StringOption("--openai-weight", "1"), CultureInfo.InvariantCulture),
    FeedbackFiles = [.. args.Select((a, i) => (a, i)).Where(p => p.a == "--feedback" && p.i + 1 < args.Length).Select(p => args[p.i + 1])],
    EmbedModel = Array.IndexOf(args, "--embed-model") is var m and >= 0 && m + 1 < args.Length ? Path.GetFullPath(args[m + 1]) : null,
    BenignFiles = args.Contains("--no-benign") ? []
        : [.. args.Select((a, i) => (a, i)).Where(p => p.a == "--benign" && p.i + 1 < args.Length).Select(p => Path.GetFullPath(args[p.i + 1]))
            .DefaultIfEmpty()
            .SelectMany(file => file is null ? DefaultBenignFiles() : [file])],
    EverydaySets = Path.GetFullPath(StringOption("--everyday-sets", Path.Combine("models", "safety", "eval"))),
    DumpMarginsPath = Array.IndexOf(args, "--dump-margins") is var d and >= 0 && d + 1 < args.Length ? Path.GetFullPath(args[d + 1]) : null,
    FeedbackWeight = float.Parse(StringOption("--feedback-weight", "1"), CultureInfo.InvariantCulture),
};
if (options.FeedbackFiles.Concat(options.BenignFiles).FirstOrDefault(f => !File.Exists(f)) is { } missing)
{
    Console.Error.WriteLine($"feedback or benign file not found: {missing} (run from the repository root, or pass --benign <file> / --no-benign)");
    return 2;
}

return new TrainingRun(options, Console.Out).Run();

int IntOption(string name, int fallback) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

// Generated in the repo by tools/DaprLlm.SafetyTrain/data/make_everyday_chat_train.py, make_identity_mentions_train.py and
// tools/DaprLlm.SafetyEval/generate_demo_outputs.py --train; the evaluation sets in models/safety/eval are kept apart.
static string[] DefaultBenignFiles() =>
    [.. new[] { "everyday_chat_train.jsonl", "identity_mentions_train.jsonl", "demo_model_outputs_train.jsonl" }.Select(f => Path.GetFullPath(Path.Combine("tools", "DaprLlm.SafetyTrain", "data", f)))];

string StringOption(string name, string fallback) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
