using System.Text.Json;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Evaluation;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.SafetyTrain;

namespace DaprLlm.Safety.Tests.Classification;

/// <summary>Reviewer decisions exported by the safety app train the heads when the training tool gets --feedback.</summary>
public sealed class FeedbackTrainingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("daprllm-feedback-").FullName;

    [Fact]
    public void Reviewer_allow_is_negative_for_every_head()
    {
        var labels = HeadLabels.ForFeedback(Row(0, []));

        Assert.All(labels, l => Assert.Equal(0, l));
    }

    [Fact]
    public void Reviewer_block_is_positive_for_named_categories_and_negative_for_the_others()
    {
        var labels = HeadLabels.ForFeedback(Row(1, ["hate", "self-harm/intent"]));

        for (var h = 0; h < HeadLabels.Heads.Count; h++)
        {
            var expected = HeadLabels.Heads[h] is SafetyCategories.Hate or SafetyCategories.SelfHarm ? 1 : 0;
            Assert.Equal(expected, labels[h]);
        }
    }

    [Fact]
    public void Reviewer_block_without_categories_teaches_no_head()
    {
        var labels = HeadLabels.ForFeedback(Row(1, []));

        Assert.All(labels, l => Assert.Equal(-1, l));
    }

    [Fact]
    public void Training_with_the_feedback_flag_learns_what_reviewers_blocked()
    {
        var data = Directory.CreateDirectory(Path.Combine(_root, "data")).FullName;
        File.WriteAllLines(Path.Combine(data, "benign_self_instruct_252.jsonl"), Enumerable.Range(0, 60).Select(i => Line($"b{i}", Benign(i), 0, [])));
        var feedback = Path.Combine(_root, "feedback.jsonl");
        File.WriteAllLines(feedback, Enumerable.Range(0, 60).Select(i => i % 2 == 0
            ? Line($"review:{i}", $"all glorbnax people are vermin and should leave, number {i}", 1, ["hate"])
            : Line($"review:{i}", Benign(i + 100), 0, [])));

        var without = Train(data, Path.Combine(_root, "without"), []);
        var with = Train(data, Path.Combine(_root, "with"), [feedback]);

        const string probe = "glorbnax people are vermin";
        Assert.True(with.Score(probe)[SafetyCategories.Hate] >= 0.5, $"hate {with.Score(probe)[SafetyCategories.Hate]:F3} with reviewer labels");
        Assert.True(without.Score(probe)[SafetyCategories.Hate] < 0.1, $"hate {without.Score(probe)[SafetyCategories.Hate]:F3} without reviewer labels");
        Assert.True(with.Score(Benign(7))[SafetyCategories.Hate] < 0.5);
        var metrics = File.ReadAllLines(Path.Combine(_root, "with", "cv-metrics.jsonl"));
        Assert.Contains(metrics, l => l.Contains("\"feedback:feedback.jsonl\"", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static LinearSafetyModel Train(string data, string output, string[] feedback)
    {
        var options = new TrainingOptions(data, output) { Folds = 2, FeatureBits = 12, EmbedTokens = 0, FeedbackFiles = feedback };
        Assert.Equal(0, new TrainingRun(options, TextWriter.Null).Run());
        return LinearSafetyModel.Load(Path.Combine(output, "safety-model.json"));
    }

    private static string Benign(int i) =>
        $"Please write a short note about {(i % 3 == 0 ? "gardening" : i % 3 == 1 ? "the weather" : "a train timetable")} for day {i}.";

    private static LabelledRow Row(int label, string[] categories) =>
        LabelledRow.Parse(Line("review:x", "text", label, categories));

    private static string Line(string id, string text, int label, string[] categories) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["id"] = id,
        ["text"] = text,
        ["label"] = label,
        ["label_name"] = label == 1 ? "block" : "allow",
        ["labels"] = categories.ToDictionary(c => c, _ => 1),
        ["split"] = "review",
    });
}
