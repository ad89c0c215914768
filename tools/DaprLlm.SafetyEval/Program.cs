using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Evaluation;

// Usage: dotnet run -c Release --project tools/DaprLlm.SafetyEval -- <folder> [--model path/to/safety-model.json]
// Prints one JSON line per *.jsonl file: {"file","rows","auprc","f1","precision","recall","fpr","threshold",...}.
if (args.Length < 1 || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("usage: DaprLlm.SafetyEval <folder with *.jsonl files> [--model <safety-model.json>]");
    return 2;
}

var modelIndex = Array.IndexOf(args, "--model");
var modelPath = modelIndex >= 0 && modelIndex + 1 < args.Length
    ? args[modelIndex + 1]
    : Path.Combine(AppContext.BaseDirectory, "models", "safety", "safety-model.json");
if (!File.Exists(modelPath))
{
    Console.Error.WriteLine($"model not found: {modelPath}");
    return 2;
}

var engine = SafetyEngine.Load(modelPath);
foreach (var file in Directory.GetFiles(args[0], "*.jsonl").Order(StringComparer.Ordinal))
{
    Console.WriteLine(DatasetEvaluator.Evaluate(file, engine).ToJsonLine());
}

return 0;
