using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Classification.Models;

/// <summary>
/// Scores for categories the training data has no labels for, computed from trained heads. They are labelled
/// "derived" in the model card: self-harm intent and instructions split the self-harm score by first-person
/// intent or how-to phrasing; illicit/violent is the smaller of illicit and violence.
/// </summary>
public static partial class DerivedScores
{
    public const string Min = "min";
    public const string SelfHarmIntentCue = "self-harm-intent-cue";
    public const string SelfHarmInstructionsCue = "self-harm-instructions-cue";

    // Without the cue the source score is discounted, not zeroed: the cue lists are short and miss paraphrases.
    private const double MissingCueFactor = 0.35;

    public static double Compute(DerivedCategory derived, string foldedText, IReadOnlyDictionary<string, double> scores)
    {
        ArgumentNullException.ThrowIfNull(derived);
        var source = scores.GetValueOrDefault(derived.Source);
        return derived.Rule switch
        {
            Min => Math.Min(source, scores.GetValueOrDefault(derived.SecondSource ?? derived.Source)),
            SelfHarmIntentCue => source * (IntentCue().IsMatch(foldedText) ? 1 : MissingCueFactor),
            SelfHarmInstructionsCue => source * (InstructionsCue().IsMatch(foldedText) ? 1 : MissingCueFactor),
            _ => throw new InvalidOperationException($"unknown derived-score rule '{derived.Rule}'"),
        };
    }

    [GeneratedRegex(@"\b(?:i\s*(?:'m|am|want|wanna|will|'ll|plan|am\s+going|keep|can't\s+stop|need)\b.{0,40}\b(?:die|dying|kill\s+myself|end\s+(?:it|my\s+life)|cut(?:ting)?|hurt(?:ing)?\s+myself|suicid\w*|overdose|self[\s-]?harm)|kill\s+myself|end\s+my\s+life|my\s+suicide|want\s+to\s+die)", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)]
    private static partial Regex IntentCue();

    [GeneratedRegex(@"\b(?:how\s+(?:to|do\s+i|can\s+i|much|many)|ways?\s+to|best\s+(?:way|method)|steps?\s+to|method\s+(?:to|of|for)|instructions?|tutorial|guide\s+to|painless|lethal\s+dose)\b", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)]
    private static partial Regex InstructionsCue();
}
