namespace DaprLlm.Safety.Rules;

/// <summary>One rule that fired: its family, its name (term, rule or signal) and where in the original text.</summary>
public readonly record struct RuleHit(RuleKind Kind, string Name, TextSpan Span, double Score = 1.0);
