using System.Globalization;
using System.Text.Json;
using DaprLlm.SafetyRecalibrate;

// Usage: dotnet run --project tools/DaprLlm.SafetyRecalibrate -- <feedback.jsonl>... [--precision 0.9] [--recall 0.95]
// Reads the review app's labelled examples (GET /review/feedback.jsonl, admin) and prints one JSON line per
// category with the proposed block and allow thresholds and the precision/recall they would give.
var files = new List<string>();
double precision = 0.9, recall = 0.95;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--precision" when i + 1 < args.Length:
            precision = double.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--recall" when i + 1 < args.Length:
            recall = double.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        default:
            files.Add(args[i]);
            break;
    }
}

if (files.Count == 0 || precision is <= 0 or > 1 || recall is <= 0 or > 1)
{
    Console.Error.WriteLine("usage: DaprLlm.SafetyRecalibrate <feedback.jsonl>... [--precision 0.9] [--recall 0.95]");
    return 2;
}

var rows = new List<LabelledRow>();
foreach (var file in files)
{
    if (!File.Exists(file))
    {
        Console.Error.WriteLine($"no such file: {file}");
        return 2;
    }

    foreach (var line in File.ReadLines(file).Where(l => !string.IsNullOrWhiteSpace(l)))
    {
        if (LabelledRow.Parse(line) is { } row)
        {
            rows.Add(row);
        }
    }
}

Console.Error.WriteLine($"{rows.Count} labelled examples; target precision {precision:0.###} to block, recall {recall:0.###} to allow");
foreach (var proposal in Recalibration.Propose(rows, precision, recall))
{
    Console.WriteLine(JsonSerializer.Serialize(proposal));
}

return 0;
