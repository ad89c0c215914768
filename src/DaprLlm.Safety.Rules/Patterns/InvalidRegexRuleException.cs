namespace DaprLlm.Safety.Rules;

/// <summary>Thrown when a tenant regex rule cannot be accepted; the message says which rule and why.</summary>
public sealed class InvalidRegexRuleException : ArgumentException
{
    public InvalidRegexRuleException()
    {
    }

    public InvalidRegexRuleException(string message)
        : base(message)
    {
    }

    public InvalidRegexRuleException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InvalidRegexRuleException(string ruleName, string reason, Exception? innerException = null)
        : base($"Regex rule '{ruleName}' is rejected: {reason}", innerException)
    {
        RuleName = ruleName;
    }

    public string? RuleName { get; }
}
