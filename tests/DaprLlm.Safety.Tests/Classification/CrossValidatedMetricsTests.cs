using System.Text.Json;

namespace DaprLlm.Safety.Tests.Classification;

/// <summary>
/// The honest figures of the committed model (models/safety/cv-metrics.jsonl, written by the training tool from
/// out-of-fold predictions) must meet the targets, so a retrained model that generalizes worse cannot be
/// committed without failing the build. Needs no shared data: the file is part of the repository.
/// </summary>
public sealed class CrossValidatedMetricsTests
{
    private static readonly Dictionary<string, JsonElement> Metrics = Load();

    [Fact]
    public void Openai_moderation_any_category_auprc_is_at_least_the_committed_floor()
    {
        var auprc = Metrics["openai_moderation_1680_dev.jsonl"].GetProperty("auprc").GetDouble();

        Assert.True(auprc >= CommittedFloors.OpenAiAuprc, $"cross-validated AUPRC {auprc:F3} < {CommittedFloors.OpenAiAuprc}");
    }

    [Fact]
    public void Jailbreak_f1_is_at_least_ninety_percent()
    {
        var f1 = Metrics["jailbreak_llm_warden_train.jsonl"].GetProperty("f1").GetDouble();

        Assert.True(f1 >= 0.90, $"cross-validated jailbreak F1 {f1:F3} < 0.90");
    }

    [Theory]
    [InlineData("xstest_v2.jsonl")]
    [InlineData("benign_self_instruct_252.jsonl")]
    public void False_positive_rate_on_benign_sets_is_at_most_five_percent(string file)
    {
        var fpr = Metrics[file].GetProperty("fpr").GetDouble();

        Assert.True(fpr <= 0.05, $"cross-validated FPR on {file} {fpr:F3} > 0.05");
    }

    [Theory]
    [InlineData("everyday_chat_train.jsonl")]
    [InlineData("demo_model_outputs_train.jsonl")]
    public void Out_of_fold_flag_rate_on_everyday_text_is_at_most_one_percent(string file)
    {
        // The repo's benign training rows, scored by heads that never saw them (the held-out sets are EverydayTextTests').
        var fpr = Metrics[file].GetProperty("fpr").GetDouble();

        Assert.True(fpr <= 0.01, $"cross-validated flag rate on {file} {fpr:F3} > 0.01");
    }

    private static Dictionary<string, JsonElement> Load()
    {
        var path = Path.Combine(RepositoryRoot(), "models", "safety", "cv-metrics.jsonl");
        return File.ReadLines(path).Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .ToDictionary(e => e.GetProperty("file").GetString()!, StringComparer.Ordinal);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "DaprLlm.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("the repository root (DaprLlm.sln) was not found above the test binaries");
    }
}

/// <summary>Floors a little under the committed model's cross-validated figures (v3: 0.821; see models/safety/MODEL_CARD.md).</summary>
internal static class CommittedFloors
{
    public const double OpenAiAuprc = 0.81;
}
