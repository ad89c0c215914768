using System.Globalization;
using System.Text.Json;
using DaprLlm.SafetyRecalibrate;

// Usage: dotnet run --project tools/DaprLlm.SafetyRecalibrate -- <feedback.jsonl>... [--precision 0.9] [--recall 0.95]
// Reads the review app's labelled examples (GET /review/feedback.jsonl, admin) and prints one JSON line per
// category with the proposed block and allow thresholds and the precision/recall they would give.
const string Usage = "usage: DaprLlm.SafetyRecalibrate <feedback.jsonl>... [--precision 0.9] [--recall 0.95]";
var files = new List<string>();
double precision = 0.9, recall = 0.95;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--precision" or "--recall":
            // A bad value is a usage error with exit code 2, never an unhandled FormatException.
            var name = args[i];
            var raw = i + 1 < args.Length ? args[++i] : "";
            if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value is <= 0 or > 1)
            {
                return Fail($"{name} needs a number in (0, 1], got '{raw}'");
            }

            if (name == "--precision")
            {
                precision = value;
            }
            else
            {
                recall = value;
            }

            break;
        case ['-', '-', ..]:
            return Fail($"unknown option {args[i]}");
        default:
            files.Add(args[i]);
            break;
    }
}

if (files.Count == 0)
{
    return Fail("give at least one feedback.jsonl file");
}

var rows = new List<LabelledRow>();
foreach (var file in files)
{
    if (!File.Exists(file))
    {
        return Fail($"no such file: {file}");
    }

    var number = 0;
    foreach (var line in File.ReadLines(file))
    {
        number++;
        if (string.IsNullOrWhiteSpace(line))
        {
            continue;
        }

        try
        {
            if (LabelledRow.Parse(line) is { } row)
            {
                rows.Add(row);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return Fail($"{file}:{number}: not a labelled example ({e.Message.Split('\n')[0]})");
        }
    }
}

Console.Error.WriteLine($"{rows.Count} labelled examples; target precision {precision:0.###} to block, recall {recall:0.###} to allow");
foreach (var proposal in Recalibration.Propose(rows, precision, recall))
{
    Console.WriteLine(JsonSerializer.Serialize(proposal));
}

return 0;

static int Fail(string message)
{
    Console.Error.WriteLine($"error: {message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
