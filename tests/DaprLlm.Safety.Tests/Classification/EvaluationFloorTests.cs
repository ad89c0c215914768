using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Evaluation;

namespace DaprLlm.Safety.Tests.Classification;

/// <summary>
/// The evaluation tool's figures on ../shared/data, through the same SafetyEngine the service runs, must stay
/// above agreed floors, so a regression in the classifiers, thresholds or rules fails the build. The floors sit a
/// little under what the shipped model measures (models/safety/MODEL_CARD.md). The model was trained on these
/// files, so these are regression guards, not generalization claims (those are the cross-validated figures).
/// </summary>
public sealed class EvaluationFloorTests : IClassFixture<EvaluationFloorTests.ShippedEngine>
{
    // Measured 0.741 with the PERSON/STREET_ADDRESS heuristics (structured types alone score about 0.2 overall).
    private const double PiiFloor = 0.70;

    private readonly SafetyEngine _engine;

    public EvaluationFloorTests(ShippedEngine shipped) => _engine = shipped.Engine;

    [Fact]
    public void Openai_moderation_set_any_category_auprc_stays_above_its_floor()
    {
        var result = Evaluate("openai_moderation_1680_dev.jsonl");

        // v3 measures 0.984 (sexual 1.000) on these rows; the cross-validated figure is CrossValidatedMetricsTests' business.
        Assert.True(result.Auprc >= 0.95, $"AUPRC {result.Auprc:F3} < 0.95");
        Assert.True(result.Categories!["S"] >= 0.95, $"sexual AUPRC {result.Categories["S"]:F3} < 0.95");
    }

    [Fact]
    public void Jailbreak_f1_stays_above_its_floor()
    {
        var result = Evaluate("jailbreak_llm_warden_train.jsonl");

        // v3 measures 0.997 on these rows (0.966 cross-validated); the issue's target is 0.90.
        Assert.True(result.Confusion.F1 >= 0.97, $"F1 {result.Confusion.F1:F3} < 0.97");
    }

    [Theory]
    [InlineData("xstest_v2.jsonl")]
    [InlineData("benign_self_instruct_252.jsonl")]
    public void False_positive_rate_on_benign_prompts_stays_under_five_percent(string file)
    {
        var result = Evaluate(file);

        Assert.True(result.Confusion.FalsePositiveRate <= 0.05, $"FPR {result.Confusion.FalsePositiveRate:F3} > 0.05");
    }

    [Fact]
    public void Pii_span_f1_on_policy_types_stays_above_its_floor()
    {
        var result = Evaluate("pii_presidio_synth_v2_dev.jsonl");

        Assert.True(result.Pii!.Overall.F1 >= PiiFloor, $"PII span F1 {result.Pii.Overall.F1:F3} < {PiiFloor}");
    }

    private FileEvaluation Evaluate(string file)
    {
        var result = DatasetEvaluator.Evaluate(SharedData.FileOrSkip(file), _engine);
        TestContext.Current.TestOutputHelper?.WriteLine(result.ToJsonLine());
        return result;
    }

    /// <summary>Loads the shipped model once for the class (MiniLM session included).</summary>
    public sealed class ShippedEngine : IDisposable
    {
        public SafetyEngine Engine { get; } = SafetyEngine.Load(TestModels.ShippedManifest);

        public void Dispose() => Engine.Model.Dispose();
    }
}
