namespace DaprLlm.Safety.Rules;

/// <summary>Prompt-injection signals found in a text and their combined score in [0, 1].</summary>
public sealed record InjectionResult(IReadOnlyList<RuleHit> Hits, double Score)
{
    public static InjectionResult None { get; } = new([], 0);
}
