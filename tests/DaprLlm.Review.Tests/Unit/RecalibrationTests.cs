using DaprLlm.SafetyRecalibrate;

namespace DaprLlm.Review.Tests.Unit;

public sealed class RecalibrationTests
{
    [Fact]
    public void Proposes_the_lowest_block_threshold_that_meets_the_precision_target()
    {
        // Scores 0.9, 0.8 positive; 0.7 negative; 0.6 positive; 0.2, 0.1 negative.
        (double, bool)[] points = [(0.9, true), (0.8, true), (0.7, false), (0.6, true), (0.2, false), (0.1, false)];

        var proposal = Recalibration.ProposeFor("violence", points, targetPrecision: 0.9, targetRecall: 1.0);

        Assert.Equal(3, proposal.Positives);
        Assert.Equal(0.8, proposal.Block!.Threshold);
        Assert.Equal(1.0, proposal.Block.Precision);
        Assert.Equal(2.0 / 3, proposal.Block.Recall, 6);
        // Recall 1.0 needs every positive flagged: the highest such threshold is 0.6 (precision 3/4).
        Assert.Equal(0.6, proposal.Allow!.Threshold);
        Assert.Equal(0.75, proposal.Allow.Precision, 6);
        Assert.Equal(4.0 / 6, proposal.Allow.FlaggedShare, 6);
    }

    [Fact]
    public void Tied_scores_share_one_operating_point()
    {
        var curve = Recalibration.Curve([(0.5, true), (0.5, false), (0.1, false)], positives: 1);

        Assert.Equal([0.5, 0.1], curve.Select(p => p.Threshold));
        Assert.Equal(0.5, curve[0].Precision);
    }

    [Fact]
    public void No_proposal_when_no_threshold_meets_the_target_or_there_are_no_positives()
    {
        Assert.Null(Recalibration.ProposeFor("x", [(0.9, false), (0.8, true)], 0.99, 0.5).Block);
        var none = Recalibration.ProposeFor("x", [(0.9, false)], 0.9, 0.9);
        Assert.Null(none.Block);
        Assert.Null(none.Allow);
    }

    [Fact]
    public void Reads_the_review_export_and_scores_categories_from_the_reviewers_labels()
    {
        string[] lines =
        [
            """{"id":"review:1","text":"t","label":1,"label_name":"block","labels":{"violence":1},"split":"review","meta":{"category_scores":{"violence":0.8,"hate":0.3}}}""",
            """{"id":"review:2","text":"t","label":1,"label_name":"block","labels":{"hate":1},"split":"review","meta":{"category_scores":{"violence":0.4,"hate":0.9}}}""",
            """{"id":"review:3","text":"t","label":0,"label_name":"allow","labels":{},"split":"review","meta":{"category_scores":{"violence":0.2,"hate":0.1}}}""",
            """{"id":"other:1","text":"no scores","label":0}""",
        ];

        var rows = lines.Select(LabelledRow.Parse).OfType<LabelledRow>().ToList();
        var proposals = Recalibration.Propose(rows, 0.9, 0.9).ToDictionary(p => p.Category);

        Assert.Equal(3, rows.Count);
        Assert.Equal(["any", "hate", "violence"], proposals.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, proposals["any"].Positives);
        Assert.Equal(0.8, proposals["any"].Block!.Threshold);
        Assert.Equal(1, proposals["violence"].Positives);
        Assert.Equal(0.8, proposals["violence"].Block!.Threshold);
        Assert.Equal(0.9, proposals["hate"].Block!.Threshold);
    }
}
