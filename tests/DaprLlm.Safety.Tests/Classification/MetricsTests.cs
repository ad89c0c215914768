using DaprLlm.Safety.Classification.Evaluation;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests.Classification;

public sealed class MetricsTests
{
    [Fact]
    public void Average_precision_is_one_for_a_perfect_ranking_and_the_positive_rate_for_a_constant_score()
    {
        Assert.Equal(1.0, BinaryMetrics.AveragePrecision([0.9, 0.8, 0.2, 0.1], [true, true, false, false]), 6);
        Assert.Equal(0.5, BinaryMetrics.AveragePrecision([0.5, 0.5, 0.5, 0.5], [true, false, true, false]), 6);
    }

    [Fact]
    public void Average_precision_matches_a_hand_computed_ranking()
    {
        // Ranks: + - + -  → precision at the positives 1/1 and 2/3.
        Assert.Equal((1 + 2.0 / 3) / 2, BinaryMetrics.AveragePrecision([0.9, 0.7, 0.5, 0.1], [true, false, true, false]), 6);
    }

    [Fact]
    public void Confusion_gives_precision_recall_f1_and_false_positive_rate()
    {
        var c = BinaryMetrics.Count([true, true, false, false, true], [true, false, true, false, true]);

        Assert.Equal((2, 1, 1, 1), (c.TruePositives, c.FalsePositives, c.FalseNegatives, c.TrueNegatives));
        Assert.Equal(2.0 / 3, c.Precision, 6);
        Assert.Equal(2.0 / 3, c.Recall, 6);
        Assert.Equal(2.0 / 3, c.F1, 6);
        Assert.Equal(0.5, c.FalsePositiveRate, 6);
    }

    [Fact]
    public void Span_matches_when_overlap_is_at_least_half_of_the_union_and_types_agree()
    {
        var scorer = new SpanScorer();
        scorer.Add(
            [new GoldSpan("PERSON", new TextSpan(0, 10)), new GoldSpan("EMAIL_ADDRESS", new TextSpan(20, 30))],
            [("PERSON", new TextSpan(0, 5)), ("EMAIL_ADDRESS", new TextSpan(24, 30)), ("PHONE_NUMBER", new TextSpan(40, 50))]);

        Assert.Equal(1, scorer.ByType["PERSON"].Matched); // 5 of a 10 union: exactly half
        Assert.Equal(1, scorer.ByType["EMAIL_ADDRESS"].Matched);
        Assert.Equal(0, scorer.ByType["PHONE_NUMBER"].Matched);
        Assert.Equal(2, scorer.Overall.Matched);
        Assert.Equal(3, scorer.Overall.Predicted);
    }

    [Fact]
    public void Span_below_half_of_the_union_does_not_match()
    {
        var scorer = new SpanScorer();
        scorer.Add([new GoldSpan("PERSON", new TextSpan(0, 10))], [("PERSON", new TextSpan(0, 4))]);

        Assert.Equal(0, scorer.Overall.Matched);
    }

    [Fact]
    public void Platt_calibration_is_increasing_and_fits_separated_classes()
    {
        var margins = new List<double>();
        var labels = new List<bool>();
        for (var i = 0; i < 200; i++)
        {
            margins.Add(i < 100 ? -1 - (i % 10) * 0.1 : 1 + (i % 10) * 0.1);
            labels.Add(i >= 100 ^ i % 17 == 0);
        }

        var calibration = PlattCalibration.Fit(margins, labels);

        Assert.True(calibration.A > 0);
        Assert.True(calibration.Apply(2) > 0.8);
        Assert.True(calibration.Apply(-2) < 0.2);
        Assert.True(double.IsFinite(calibration.B));
    }
}
