using System.Globalization;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.Safety.Classification.Policies;
using DaprLlm.Safety.Rules;

namespace DaprLlm.SafetyTrain;

/// <summary>
/// Chooses the default policy on out-of-fold scores: per head the allow threshold that maximises F1 and the
/// block threshold where precision reaches 0.9; then allow thresholds are raised until the benign sets
/// stay under their caps: 4% on XSTest safe prompts and self-instruct (margin below the 5% target), 1% on everyday chat,
/// neutral mentions of groups and the demo model's answers.
/// </summary>
internal static class ThresholdSelection
{
    private const double MaxBenignFalsePositiveRate = 0.04;
    private const double BlockPrecision = 0.9;
    private const double MinReviewBand = 0.1;
    private const double MinAllowPrecision = 0.4;

    // Out-of-fold false-positive caps per benign set: under the 5% for XSTest's look-alike prompts and
    // self-instruct, and 1% for everyday chat, where a refusal is what a first-run user sees.
    private static readonly Dictionary<string, double> BenignCaps = new(StringComparer.Ordinal)
    {
        ["xstest_v2.jsonl"] = MaxBenignFalsePositiveRate,
        ["benign_self_instruct_252.jsonl"] = MaxBenignFalsePositiveRate,
        ["everyday_chat_train.jsonl"] = 0.01,
        ["identity_mentions_train.jsonl"] = 0.01,
        ["demo_model_outputs_train.jsonl"] = 0.01,
    };

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
        var benignSets = BenignCaps
            .Select(cap => (Rows: Enumerable.Range(0, examples.Count).Where(i => examples[i].Row.Label == 0 && examples[i].Source == cap.Key).ToArray(), Cap: cap.Value))
            .Where(set => set.Rows.Length > 0).ToArray();
        for (var round = 0; round < 200; round++)
        {
            var culprits = new Dictionary<string, int>(StringComparer.Ordinal);
            var rate = 0.0;
            foreach (var (benign, cap) in benignSets)
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

                // Rates are compared as a share of each set's cap, so the set furthest over its own cap is fixed first.
                var setRate = (double)falsePositives / benign.Length / cap * MaxBenignFalsePositiveRate;
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
            // Keep a review band above a raised allow threshold: a score just over it is uncertain by construction
            // (the threshold was moved because benign rows score there), so it goes to a human, not to a refusal.
            thresholds[worst] = new CategoryThresholds(raised, Math.Max(current.Block, Math.Min(0.99, raised + MinReviewBand)));
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
        double bestF1 = -1, allow = 0.9;
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
            // A weak head's F1 optimum can sit where most flagged rows are benign: that band is a reviewer's queue
            // filled with harmless text (and a stream of first-run "under review" answers), so it must be precise enough.
            if (f1 > bestF1 && tp >= MinAllowPrecision * (tp + fp))
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
