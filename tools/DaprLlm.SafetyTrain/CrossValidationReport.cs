using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Evaluation;
using DaprLlm.Safety.Classification.Policies;
using DaprLlm.Safety.Rules;

namespace DaprLlm.SafetyTrain;

/// <summary>
/// The evaluation tool's metrics per source file, computed on out-of-fold scores (every row scored by heads that
/// never saw it) and routed by the chosen default policy: the figures the model card reports.
/// </summary>
internal static class CrossValidationReport
{
    public static List<FileEvaluation> Build(IReadOnlyList<TrainingExample> examples, Dictionary<string, double>[] oof, RuleVerdict[] verdicts, SafetyPolicy policy)
    {
        var report = new List<FileEvaluation>();
        foreach (var file in examples.Select(e => e.Source).Distinct())
        {
            var rows = Enumerable.Range(0, examples.Count).Where(i => examples[i].Source == file).ToArray();
            var scores = new List<double>();
            var predicted = new List<bool>();
            var labels = new List<bool>();
            var categories = new Dictionary<string, (List<double> S, List<bool> L)>(StringComparer.Ordinal);
            foreach (var i in rows)
            {
                var routed = new Dictionary<string, double>(oof[i]);
                var (decision, _, _, _) = SafetyEngine.Route(routed, verdicts[i], ModerationDirection.Input, policy);
                scores.Add(routed.Values.Max());
                predicted.Add(decision != Decisions.Allow);
                labels.Add(examples[i].Row.Label == 1);
                foreach (var (key, category) in SafetyCategories.OpenAiLabelKeys)
                {
                    if (examples[i].Row.Labels.TryGetValue(key, out var v) && v is { } known)
                    {
                        if (!categories.TryGetValue(key, out var lists))
                        {
                            categories[key] = lists = ([], []);
                        }

                        lists.S.Add(routed[category]);
                        lists.L.Add(known == 1);
                    }
                }
            }

            report.Add(new FileEvaluation(file, rows.Length, BinaryMetrics.AveragePrecision(scores, labels), BinaryMetrics.Count(predicted, labels),
                policy.Categories.Values.Min(t => t.Allow),
                categories.Count == 0 ? null : SafetyCategories.OpenAiLabelKeys.Keys.Where(categories.ContainsKey)
                    .ToDictionary(k => k, k => BinaryMetrics.AveragePrecision(categories[k].S, categories[k].L)),
                null));
        }

        return report;
    }
}
