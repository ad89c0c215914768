namespace DaprLlm.Safety.Rules;

/// <summary>What the rule layer found in one text: rule hits, PII entities and the prompt-injection score.</summary>
public sealed record RuleVerdict(IReadOnlyList<RuleHit> Hits, IReadOnlyList<PiiEntity> Pii, double InjectionScore)
{
    /// <summary>True when no rule fired and no PII was found.</summary>
    public bool IsClean => Hits.Count == 0 && Pii.Count == 0;
}
