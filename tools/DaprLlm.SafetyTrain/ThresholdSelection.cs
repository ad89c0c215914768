using System.Globalization;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.Safety.Classification.Policies;
using DaprLlm.Safety.Rules;

namespace DaprLlm.SafetyTrain;

/// <summary>
/// Chooses the default policy on out-of-fold scores: per head the allow threshold that maximises F1 and the
/// block threshold where precision reaches 0.9; then allow thresholds are raised until the benign sets
/// (XSTest safe prompts, self-instruct) stay under a 4% false-positive rate, leaving margin below the 5% target.
/// </summary>
internal static class ThresholdSelection
{
    private const double MaxBenignFalsePositiveRate = 0.04;
    private const double BlockPrecision = 0.9;

    public static SafetyPolicy Choose(
        IReadOnlyList<TrainingExample> examples,
        Dictionary<string, double>[] oof,
        RuleVerdict[] verdicts,
        IReadOnlyList<string> heads,
        IReadOnlyList<DerivedCategory> derived,
        string version,
        TextWriter log)
    {
        var thresholds = new Dictionary<string, CategoryThresholds>(StringComparer.Ordinal);
        for (var h = 0; h < heads.Count; h++)
        {
            var rows = Enumerable.Range(0, examples.Count).Where(i => examples[i].Labels[h] >= 0).ToArray();
            var scores = rows.Select(i => Effective(heads[h], oof[i], verdicts[i])).ToArray();
            var labels = rows.Select(i => examples[i].Labels[h] == 1).ToArray();
            thresholds[heads[h]] = ForHead(scores, labels);
        }

        foreach (var d in derived)
        {
            thresholds[d.Category] = thresholds[d.Source];
        }

        var policy = new SafetyPolicy(version, thresholds, Decisions.Allow, DefaultTerms.Deny);
        // Each benign set on its own: a low rate on one must not hide a high rate on the other.
        var benignSets = new[] { "xstest_v2.jsonl", "benign_self_instruct_252.jsonl" }
            .Select(file => Enumerable.Range(0, examples.Count).Where(i => examples[i].Row.Label == 0 && examples[i].Source == file).ToArray())
            .Where(set => set.Length > 0).ToArray();
        for (var round = 0; round < 200; round++)
        {
            var culprits = new Dictionary<string, int>(StringComparer.Ordinal);
            var rate = 0.0;
            foreach (var benign in benignSets)
            {
                var falsePositives = 0;
                var setCulprits = new Dictionary<string, int>(StringComparer.Ordinal);
                foreach (var i in benign)
                {
                    var (decision, categories, _, _) = SafetyEngine.Route(new Dictionary<string, double>(oof[i]), verdicts[i], ModerationDirection.Input, policy);
                    if (decision == Decisions.Allow)
                    {
                        continue;
                    }

                    falsePositives++;
                    foreach (var (category, _) in categories.Where(c => c.Value != Decisions.Allow))
                    {
                        setCulprits[category] = setCulprits.GetValueOrDefault(category) + 1;
                    }
                }

                var setRate = (double)falsePositives / benign.Length;
                if (setRate > rate)
                {
                    (rate, culprits) = (setRate, setCulprits);
                }
            }

            if (rate <= MaxBenignFalsePositiveRate || culprits.Count == 0)
            {
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"benign out-of-fold FPR {rate:F3} after {round} raises"));
                break;
            }

            var worst = culprits.MaxBy(c => c.Value).Key;
            var current = thresholds[worst];
            var raised = Math.Min(0.99, current.Allow + 0.02);
            thresholds[worst] = new CategoryThresholds(raised, Math.Max(current.Block, raised));
            policy = policy with { Categories = thresholds };
        }

        foreach (var (category, t) in thresholds)
        {
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{category,-24} allow {t.Allow:F2} block {t.Block:F2}"));
        }

        return policy;
    }

    // The routing compares the jailbreak category after combining it with the injection heuristics.
    internal static double Effective(string head, Dictionary<string, double> scores, RuleVerdict verdict) =>
        head == SafetyCategories.Jailbreak ? Math.Max(scores[head], verdict.InjectionScore) : scores[head];

    private static CategoryThresholds ForHead(double[] scores, bool[] labels)
    {
        double bestF1 = -1, allow = 0.5;
        for (var t = 0.15; t <= 0.9; t += 0.01)
        {
            int tp = 0, fp = 0, fn = 0;
            for (var i = 0; i < scores.Length; i++)
            {
                var predicted = scores[i] >= t;
                tp += predicted && labels[i] ? 1 : 0;
                fp += predicted && !labels[i] ? 1 : 0;
                fn += !predicted && labels[i] ? 1 : 0;
            }

            var f1 = tp == 0 ? 0 : 2.0 * tp / (2 * tp + fp + fn);
            if (f1 > bestF1)
            {
                (bestF1, allow) = (f1, Math.Round(t, 2));
            }
        }

        var block = 0.97;
        for (var t = Math.Max(0.5, allow + 0.1); t <= 0.97; t += 0.01)
        {
            var above = Enumerable.Range(0, scores.Length).Where(i => scores[i] >= t).ToArray();
            if (above.Length >= 5 && above.Count(i => labels[i]) >= BlockPrecision * above.Length)
            {
                block = Math.Round(t, 2);
                break;
            }
        }

        return new CategoryThresholds(allow, Math.Max(block, allow));
    }
}
