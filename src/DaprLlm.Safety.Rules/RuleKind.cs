namespace DaprLlm.Safety.Rules;

/// <summary>Which rule family produced a <see cref="RuleHit"/>.</summary>
public enum RuleKind
{
    DenyTerm,
    Regex,

    /// <summary>A tenant regex ran past its match timeout; reported rather than ignored so the text fails closed.</summary>
    RegexTimeout,
    Injection,
}
