using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Evaluation;
using C = DaprLlm.Safety.Classification.SafetyCategories;

namespace DaprLlm.SafetyTrain;

/// <summary>
/// Which label each source gives each trained head. Unknown (-1) where a source says nothing about a category:
/// a jailbreak prompt may or may not be sexual, so it neither teaches nor punishes the sexual head.
/// </summary>
internal static class HeadLabels
{
    public static IReadOnlyList<string> Heads { get; } =
    [
        C.Sexual, C.SexualMinors, C.Hate, C.HateThreatening, C.Harassment, C.HarassmentThreatening, C.SelfHarm,
        C.Violence, C.ViolenceGraphic, C.Illicit, C.Jailbreak,
    ];

    /// <summary>Files used for training, with a sample weight per row (Davidson is 25k noisy tweets: down-weighted).</summary>
    public static IReadOnlyDictionary<string, float> Sources { get; } = new Dictionary<string, float>
    {
        ["openai_moderation_1680_dev.jsonl"] = 1f,
        ["hate_davidson_2017.jsonl"] = 0.15f,
        ["hate_toxigen_seeds.jsonl"] = 1f,
        ["jailbreak_llm_warden_train.jsonl"] = 1f,
        ["injection_giskard.jsonl"] = 1f,
        ["xstest_v2.jsonl"] = 1f,
        ["benign_self_instruct_252.jsonl"] = 1f,
        ["pii_presidio_synth_v2_dev.jsonl"] = 0.5f,
    };

    public static sbyte[] For(string file, LabelledRow row)
    {
        var labels = new sbyte[Heads.Count];
        Array.Fill(labels, (sbyte)-1);
        var benign = row.Label == 0;
        switch (file)
        {
            case "openai_moderation_1680_dev.jsonl":
                foreach (var (key, category) in C.OpenAiLabelKeys)
                {
                    Set(labels, category, benign ? 0 : row.Labels.GetValueOrDefault(key));
                }

                var hr = benign ? 0 : row.Labels.GetValueOrDefault("HR");
                var v = benign ? 0 : row.Labels.GetValueOrDefault("V");
                var h2 = benign ? 0 : row.Labels.GetValueOrDefault("H2");
                Set(labels, C.HarassmentThreatening, (hr == 1 && v == 1) || h2 == 1 ? 1 : hr == 0 ? 0 : null);
                Set(labels, C.Illicit, benign ? 0 : null);
                Set(labels, C.Jailbreak, 0);
                break;
            case "hate_davidson_2017.jsonl":
                if (benign)
                {
                    AllContent(labels, 0);
                }
                else if (row.Labels.GetValueOrDefault("hate_speech") == 1)
                {
                    Set(labels, C.Hate, 1);
                }
                else
                {
                    Set(labels, C.Harassment, 1);
                    Set(labels, C.Hate, 0);
                }

                break;
            case "hate_toxigen_seeds.jsonl":
                if (benign)
                {
                    AllContent(labels, 0);
                    Set(labels, C.Jailbreak, 0);
                }
                else
                {
                    Set(labels, C.Hate, 1);
                    Set(labels, C.Jailbreak, 0);
                }

                break;
            case "jailbreak_llm_warden_train.jsonl":
            case "injection_giskard.jsonl":
                Set(labels, C.Jailbreak, row.Label);
                if (benign)
                {
                    AllContent(labels, 0);
                }

                break;
            case "xstest_v2.jsonl":
                Set(labels, C.Jailbreak, 0);
                if (benign)
                {
                    AllContent(labels, 0);
                }
                else
                {
                    Set(labels, C.Illicit, 1);
                }

                break;
            default:
                // Ordinary instructions and PII sentences: benign for every head.
                Array.Fill(labels, (sbyte)0);
                break;
        }

        return labels;
    }

    /// <summary>
    /// Labels of a reviewer decision exported by the safety app (GET /review/feedback.jsonl): an allow is a negative
    /// for every head; a block is a positive for the categories the reviewer named and a negative for the others; a
    /// block without named categories says nothing per category (the same reading as tools/DaprLlm.SafetyRecalibrate).
    /// </summary>
    public static sbyte[] ForFeedback(LabelledRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var labels = new sbyte[Heads.Count];
        if (row.Label == 0)
        {
            return labels;
        }

        var named = row.Labels.Where(l => l.Value is > 0).Select(l => HeadOf(l.Key)).OfType<string>().ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < Heads.Count; i++)
        {
            labels[i] = named.Count == 0 ? (sbyte)-1 : named.Contains(Heads[i]) ? (sbyte)1 : (sbyte)0;
        }

        return labels;
    }

    // A reviewer may name a head, a derived category (trained through its source head) or an OpenAI label key.
    private static string? HeadOf(string label)
    {
        var category = C.OpenAiLabelKeys.GetValueOrDefault(label, label);
        return category switch
        {
            C.SelfHarmIntent or C.SelfHarmInstructions => C.SelfHarm,
            C.IllicitViolent => C.Illicit,
            _ when Heads.Contains(category) => category,
            _ => null,
        };
    }

    private static void AllContent(sbyte[] labels, int value)
    {
        for (var i = 0; i < Heads.Count; i++)
        {
            if (Heads[i] != C.Jailbreak)
            {
                labels[i] = (sbyte)value;
            }
        }
    }

    private static void Set(sbyte[] labels, string head, int? value)
    {
        var index = Heads.ToList().IndexOf(head);
        labels[index] = value is { } known ? (sbyte)known : (sbyte)-1;
    }
}
