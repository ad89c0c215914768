namespace DaprLlm.Safety.Rules;

/// <summary>The configurable part of the rule layer: term lists and tenant regex rules.</summary>
public sealed class RuleSet
{
    public IReadOnlyList<string> DenyTerms { get; init; } = [];

    public IReadOnlyList<string> AllowTerms { get; init; } = [];

    public IReadOnlyList<RegexRule> RegexRules { get; init; } = [];

    /// <summary>Per-match limit for tenant regexes; the linear-time engine makes it a backstop, not the defence.</summary>
    public TimeSpan RegexMatchTimeout { get; init; } = TimeSpan.FromSeconds(1);
}
