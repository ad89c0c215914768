using System.Globalization;
using System.Text.Json;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

/// <summary>
/// Span-level precision and recall of <see cref="PiiDetector"/> on presidio-research's synthetic PII sentences,
/// read from the shared data folder beside the repository (never copied into it).
/// </summary>
public sealed class PresidioSyntheticEvaluationTests
{
    private const string DataFileName = "pii_presidio_synth_v2_dev.jsonl";

    // Another copy in the same JSONL schema can be evaluated by pointing this variable at it.
    private const string DataFileVariable = "DAPRLLM_PII_EVAL_FILE";

    private static readonly string[] SupportedTypes =
    [
        PiiEntityTypes.EmailAddress, PiiEntityTypes.PhoneNumber, PiiEntityTypes.CreditCard,
        PiiEntityTypes.IbanCode, PiiEntityTypes.UsSsn, PiiEntityTypes.IpAddress,
    ];

    [Fact]
    public void Structured_pii_detection_meets_precision_and_recall_floors_on_presidio_synthetic_data()
    {
        var path = DataFile();
        if (!File.Exists(path))
        {
            Assert.Skip($"PII evaluation data not found at {path}; it lives in ../shared/data beside the repository, which a plain clone does not have.");
        }

        var counts = SupportedTypes.ToDictionary(t => t, _ => new Counts());
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var row = JsonDocument.Parse(line);
            var text = row.RootElement.GetProperty("text").GetString() ?? string.Empty;
            var gold = GoldSpans(row.RootElement, text);
            var predicted = PiiDetector.Default.Detect(text)
                .Where(e => counts.ContainsKey(e.EntityType))
                .Select(e => (e.EntityType, e.Span))
                .ToList();
            foreach (var type in SupportedTypes)
            {
                Score(counts[type], [.. gold.Where(g => g.Type == type).Select(g => g.Span)], [.. predicted.Where(p => p.EntityType == type).Select(p => p.Span)]);
            }
        }

        var output = TestContext.Current.TestOutputHelper;
        var total = new Counts();
        foreach (var (type, c) in counts)
        {
            output?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{type,-14} gold {c.Gold,4} predicted {c.Predicted,4} matched {c.TruePositives,4}  precision {c.Precision:F3}  recall {c.Recall:F3}  F1 {c.F1:F3}"));
            total.Add(c);
        }

        output?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"all",-14} gold {total.Gold,4} predicted {total.Predicted,4} matched {total.TruePositives,4}  precision {total.Precision:F3}  recall {total.Recall:F3}  F1 {total.F1:F3}"));
        Assert.True(total.Gold > 0, "the data has no spans of the supported types: wrong file or label names?");
        Assert.True(total.Precision >= 0.8, $"precision {total.Precision:F3} is below 0.8");
        Assert.True(total.Recall >= 0.6, $"recall {total.Recall:F3} is below 0.6");
    }

    // The policy types the issue scores (SafetyEval's "overall").
    private static readonly string[] PolicyTypes =
    [
        PiiEntityTypes.Person, PiiEntityTypes.StreetAddress, PiiEntityTypes.CreditCard, PiiEntityTypes.PhoneNumber, PiiEntityTypes.EmailAddress,
        PiiEntityTypes.UsSsn, PiiEntityTypes.IbanCode, PiiEntityTypes.IpAddress, PiiEntityTypes.UsDriverLicense,
    ];

    /// <summary>
    /// The person and address heuristics were tuned on the rows of even template ids only; the rows of odd
    /// template ids (other sentence shapes, other people) are the held-out figure, which must reach F1 0.80.
    /// </summary>
    [Fact]
    public void Policy_entity_span_f1_on_held_out_templates_is_at_least_0_80()
    {
        var path = DataFile();
        if (!File.Exists(path))
        {
            Assert.Skip($"PII evaluation data not found at {path}; it lives in ../shared/data beside the repository, which a plain clone does not have.");
        }

        var tuned = PolicyTypes.ToDictionary(t => t, _ => new Counts());
        var heldOut = PolicyTypes.ToDictionary(t => t, _ => new Counts());
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var row = JsonDocument.Parse(line);
            var template = row.RootElement.TryGetProperty("meta", out var meta) && meta.TryGetProperty("template_id", out var id) ? id.GetInt32() : 0;
            var counts = template % 2 == 0 ? tuned : heldOut;
            var text = row.RootElement.GetProperty("text").GetString() ?? string.Empty;
            var gold = GoldSpans(row.RootElement, text);
            var predicted = PiiDetector.Default.Detect(text);
            foreach (var type in PolicyTypes)
            {
                Score(counts[type], [.. gold.Where(g => g.Type == type).Select(g => g.Span)], [.. predicted.Where(p => p.EntityType == type).Select(p => p.Span)]);
            }
        }

        var output = TestContext.Current.TestOutputHelper;
        var totals = new Dictionary<string, Counts>();
        foreach (var (name, split) in new[] { ("tuned (even templates)", tuned), ("held out (odd templates)", heldOut) })
        {
            output?.WriteLine(name);
            var total = new Counts();
            foreach (var (type, c) in split)
            {
                output?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {type,-18} gold {c.Gold,4} predicted {c.Predicted,4} matched {c.TruePositives,4}  P {c.Precision:F3}  R {c.Recall:F3}  F1 {c.F1:F3}"));
                total.Add(c);
            }

            output?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"overall",-18} gold {total.Gold,4} predicted {total.Predicted,4} matched {total.TruePositives,4}  P {total.Precision:F3}  R {total.Recall:F3}  F1 {total.F1:F3}"));
            totals[name] = total;
        }

        var held = totals["held out (odd templates)"];
        Assert.True(held.Gold > 100, "too few held-out spans: wrong file or template ids?");
        Assert.True(held.F1 >= 0.80, string.Create(CultureInfo.InvariantCulture, $"held-out PII span F1 {held.F1:F3} is below 0.80"));
    }

    private static string DataFile()
    {
        var configured = Environment.GetEnvironmentVariable(DataFileVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "DaprLlm.sln")))
        {
            directory = directory.Parent;
        }

        var root = directory?.FullName ?? Directory.GetCurrentDirectory();
        return Path.GetFullPath(Path.Combine(root, "..", "shared", "data", DataFileName));
    }

    private static List<(string Type, TextSpan Span)> GoldSpans(JsonElement row, string text)
    {
        var spans = new List<(string, TextSpan)>();
        if (!row.TryGetProperty("spans", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return spans;
        }

        int[]? codePointToUtf16 = null;
        foreach (var span in array.EnumerateArray())
        {
            var start = span.GetProperty("start").GetInt32();
            var end = span.GetProperty("end").GetInt32();
            var value = span.TryGetProperty("text", out var t) ? t.GetString() : null;
            // The data was written by Python, whose offsets count code points; C# counts UTF-16 units. They differ
            // only after characters outside the BMP (emoji), so convert when the span text says so.
            if (value is not null && !SliceEquals(text, start, end, value))
            {
                codePointToUtf16 ??= CodePointOffsets(text);
                if (end < codePointToUtf16.Length)
                {
                    (start, end) = (codePointToUtf16[start], codePointToUtf16[end]);
                }
            }

            spans.Add((span.GetProperty("label").GetString() ?? string.Empty, new TextSpan(start, end)));
        }

        return spans;
    }

    private static bool SliceEquals(string text, int start, int end, string value) =>
        end <= text.Length && start <= end && text.AsSpan(start, end - start).SequenceEqual(value);

    private static int[] CodePointOffsets(string text)
    {
        var offsets = new List<int>(text.Length + 1);
        for (var i = 0; i < text.Length; i++)
        {
            offsets.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
        }

        offsets.Add(text.Length);
        return [.. offsets];
    }

    // A prediction matches a gold span of the same type when their overlap is at least half of their union;
    // each gold span is matched at most once.
    private static void Score(Counts counts, List<TextSpan> gold, List<TextSpan> predicted)
    {
        counts.Gold += gold.Count;
        counts.Predicted += predicted.Count;
        var used = new bool[gold.Count];
        foreach (var p in predicted)
        {
            for (var i = 0; i < gold.Count; i++)
            {
                if (!used[i] && Overlap(p, gold[i]) * 2 >= Union(p, gold[i]))
                {
                    used[i] = true;
                    counts.TruePositives++;
                    break;
                }
            }
        }
    }

    private static int Overlap(TextSpan a, TextSpan b) => Math.Max(0, Math.Min(a.End, b.End) - Math.Max(a.Start, b.Start));

    private static int Union(TextSpan a, TextSpan b) => a.Length + b.Length - Overlap(a, b);

    private sealed class Counts
    {
        public int Gold { get; set; }

        public int Predicted { get; set; }

        public int TruePositives { get; set; }

        public double Precision => Predicted == 0 ? 1 : (double)TruePositives / Predicted;

        public double Recall => Gold == 0 ? 1 : (double)TruePositives / Gold;

        public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);

        public void Add(Counts other)
        {
            Gold += other.Gold;
            Predicted += other.Predicted;
            TruePositives += other.TruePositives;
        }
    }
}
