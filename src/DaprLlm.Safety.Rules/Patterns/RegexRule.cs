namespace DaprLlm.Safety.Rules;

/// <summary>A named tenant regex; matched case-insensitively against the NFKC view of the text.</summary>
public sealed record RegexRule(string Name, string Pattern);
