using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Classification;

/// <summary>Everything the engine concluded about one text under one policy.</summary>
/// <param name="Decision">allow, review or block: the worst of the category, rule and PII decisions.</param>
/// <param name="Scores">Calibrated probability per category (jailbreak already combined with the injection heuristics).</param>
/// <param name="CategoryDecisions">The routing decision per scored category that the policy lists.</param>
/// <param name="TopCategory">The category whose score is highest relative to its allow threshold, or null when all allow.</param>
/// <param name="Reasons">Why the decision is not allow, e.g. "category:violence=0.93" or "deny-term:make a bomb".</param>
/// <param name="Rules">The rule layer's verdict (hits and PII).</param>
/// <param name="PolicyVersion">The policy version the decision was made under.</param>
/// <param name="RuleMicroseconds">Time spent in the rule layer.</param>
/// <param name="ModelMicroseconds">Time spent in the ML layer.</param>
public sealed record SafetyAssessment(
    string Decision,
    IReadOnlyDictionary<string, double> Scores,
    IReadOnlyDictionary<string, string> CategoryDecisions,
    string? TopCategory,
    IReadOnlyList<string> Reasons,
    RuleVerdict Rules,
    string PolicyVersion,
    double RuleMicroseconds,
    double ModelMicroseconds)
{
    /// <summary>The highest category probability: what AUPRC ranks by.</summary>
    public double MaxScore => Scores.Count == 0 ? 0 : Scores.Values.Max();
}
