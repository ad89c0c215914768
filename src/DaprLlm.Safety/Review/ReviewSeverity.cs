using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Policies;

namespace DaprLlm.Safety.Review;

/// <summary>The severity of a review item: the worst over every category the policy did not allow.</summary>
public static class ReviewSeverity
{
    private static readonly string[] Order = ["low", "medium", "high", "critical"];

    // Not the top category alone: the top is the highest score/allow ratio, so illicit just in the review band next to
    // harassment further into it came out medium, took the 1 h SLA and failed open when nobody decided.
    public static string Of(IReadOnlyDictionary<string, string> categoryDecisions)
    {
        var worst = "medium";
        foreach (var (category, decision) in categoryDecisions)
        {
            if (decision != Decisions.Allow && Rank(OfCategory(category)) > Rank(worst))
            {
                worst = OfCategory(category);
            }
        }

        return worst;
    }

    // Severity sets the review SLA and the default when nobody decides: sexual/minors is critical; self-harm
    // intent/instructions, threats and illicit fail closed (issue #7); everything else is medium.
    public static string OfCategory(string? category) => category switch
    {
        SafetyCategories.SexualMinors => "critical",
        SafetyCategories.SelfHarmIntent or SafetyCategories.SelfHarmInstructions
            or SafetyCategories.HateThreatening or SafetyCategories.HarassmentThreatening or SafetyCategories.Illicit
            or SafetyCategories.IllicitViolent => "high",
        _ => "medium",
    };

    private static int Rank(string severity) => Array.IndexOf(Order, severity);
}
