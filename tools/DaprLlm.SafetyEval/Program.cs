using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Evaluation;
using DaprLlm.Safety.Classification.Policies;

// Usage: dotnet run -c Release --project tools/DaprLlm.SafetyEval -- <folder> [--model path/to/safety-model.json] [--explain] [--output]
// Prints one JSON line per *.jsonl file: {"file","rows","auprc","f1","precision","recall","fpr","threshold",...}.
// --explain also prints, on stderr, every row the default policy does not allow (decision, reasons, text), and the
// number of blocks and reviews per file under the input and output directions: what a user would see refused.
if (args.Length < 1 || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("usage: DaprLlm.SafetyEval <folder with *.jsonl files> [--model <safety-model.json>] [--explain]");
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
    if (args.Contains("--explain"))
    {
        Explain(file);
    }
}

return 0;

void Explain(string file)
{
    var rows = LabelledRow.ReadFile(file).ToList();
    foreach (var direction in new[] { ModerationDirection.Input, ModerationDirection.Output })
    {
        var assessments = engine.EvaluateBatch([.. rows.Select(r => r.Text)], direction);
        var blocked = assessments.Count(a => a.Decision == Decisions.Block);
        var reviewed = assessments.Count(a => a.Decision == Decisions.Review);
        Console.Error.WriteLine($"{Path.GetFileName(file)} {direction}: {rows.Count} rows, {blocked} block, {reviewed} review");
        for (var i = 0; i < rows.Count; i++)
        {
            if (assessments[i].Decision != Decisions.Allow)
            {
                var text = rows[i].Text.Length > 120 ? rows[i].Text[..120] + "…" : rows[i].Text;
                Console.Error.WriteLine($"  label={rows[i].Label} {assessments[i].Decision} [{string.Join(' ', assessments[i].Reasons)}] {text.ReplaceLineEndings(" ")}");
            }
        }
    }
}
