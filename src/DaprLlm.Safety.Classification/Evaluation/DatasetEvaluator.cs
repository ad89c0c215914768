using System.Text;
using System.Text.Json;
using DaprLlm.Safety.Classification.Policies;

namespace DaprLlm.Safety.Classification.Evaluation;

/// <summary>
/// Scores one JSONL file of the shared schema through <see cref="SafetyEngine"/> under its default input policy.
/// AUPRC ranks rows by the highest category probability; a row counts as predicted positive when the policy does
/// not simply allow it (review or block).
/// </summary>
public static class DatasetEvaluator
{
    private const int ChunkSize = 512;

    public static FileEvaluation Evaluate(string path, SafetyEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var scores = new List<double>();
        var predicted = new List<bool>();
        var labels = new List<bool>();
        var categoryScores = new Dictionary<string, (List<double> Scores, List<bool> Labels)>(StringComparer.Ordinal);
        SpanScorer? spans = null;
        foreach (var (row, assessment) in Assess(path, engine))
        {
            scores.Add(assessment.MaxScore);
            predicted.Add(assessment.Decision != Decisions.Allow);
            labels.Add(row.Label == 1);
            foreach (var (key, category) in SafetyCategories.OpenAiLabelKeys)
            {
                if (row.Labels.TryGetValue(key, out var value) && value is { } known)
                {
                    if (!categoryScores.TryGetValue(key, out var lists))
                    {
                        categoryScores[key] = lists = ([], []);
                    }

                    lists.Scores.Add(assessment.Scores.GetValueOrDefault(category));
                    lists.Labels.Add(known == 1);
                }
            }

            if (row.Spans.Count > 0 || spans is not null)
            {
                spans ??= new SpanScorer();
                spans.Add(row.Spans, assessment.Rules.Pii.Select(p => (p.EntityType, p.Span)));
            }
        }

        var confusion = BinaryMetrics.Count(predicted, labels);
        var categories = categoryScores.Count == 0
            ? null
            : SafetyCategories.OpenAiLabelKeys.Keys.Where(categoryScores.ContainsKey)
                .ToDictionary(k => k, k => BinaryMetrics.AveragePrecision(categoryScores[k].Scores, categoryScores[k].Labels), StringComparer.Ordinal);
        var threshold = engine.DefaultPolicy.Categories.Values.Min(t => t.Allow);
        return new FileEvaluation(Path.GetFileName(path), labels.Count, BinaryMetrics.AveragePrecision(scores, labels), confusion, threshold, categories, spans);
    }

    // Rows of similar length share one embedding call (little padding); decisions are the engine's, row by row.
    private static IEnumerable<(LabelledRow Row, SafetyAssessment Assessment)> Assess(string path, SafetyEngine engine)
    {
        foreach (var chunk in LabelledRow.ReadFile(path).Chunk(ChunkSize))
        {
            var order = Enumerable.Range(0, chunk.Length).OrderBy(i => chunk[i].Text.Length).ToArray();
            var sorted = engine.EvaluateBatch([.. order.Select(i => chunk[i].Text)], ModerationDirection.Input);
            var assessments = new SafetyAssessment[chunk.Length];
            for (var k = 0; k < order.Length; k++)
            {
                assessments[order[k]] = sorted[k];
            }

            for (var i = 0; i < chunk.Length; i++)
            {
                yield return (chunk[i], assessments[i]);
            }
        }
    }
}

/// <summary>The evaluation of one file; <see cref="ToJsonLine"/> prints the tool's output line.</summary>
public sealed record FileEvaluation(
    string File,
    int Rows,
    double Auprc,
    Confusion Confusion,
    double Threshold,
    IReadOnlyDictionary<string, double>? Categories,
    SpanScorer? Pii)
{
    public string ToJsonLine()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("file", File);
            json.WriteNumber("rows", Rows);
            Number(json, "auprc", Auprc);
            Number(json, "f1", Confusion.F1);
            Number(json, "precision", Confusion.Precision);
            Number(json, "recall", Confusion.Recall);
            Number(json, "fpr", Confusion.FalsePositiveRate);
            Number(json, "threshold", Threshold);
            if (Categories is not null)
            {
                json.WriteStartObject("categories");
                foreach (var (key, value) in Categories)
                {
                    Number(json, key, value);
                }

                json.WriteEndObject();
            }

            if (Pii is not null)
            {
                json.WriteStartObject("pii");
                Counts(json, "overall", Pii.Overall);
                foreach (var (type, counts) in Pii.ByType)
                {
                    Counts(json, type, counts);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Counts(Utf8JsonWriter json, string name, SpanCounts counts)
    {
        json.WriteStartObject(name);
        Number(json, "precision", counts.Precision);
        Number(json, "recall", counts.Recall);
        Number(json, "f1", counts.F1);
        json.WriteNumber("gold", counts.Gold);
        json.WriteNumber("predicted", counts.Predicted);
        json.WriteEndObject();
    }

    // JSON has no NaN: an undefined metric (no positives, no predictions) is null.
    private static void Number(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsNaN(value))
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteNumber(name, Math.Round(value, 4));
        }
    }
}
