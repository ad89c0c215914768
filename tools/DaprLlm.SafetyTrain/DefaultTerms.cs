namespace DaprLlm.SafetyTrain;

/// <summary>The default policy's deny terms: unambiguous requests the rule layer refuses before any model runs.</summary>
internal static class DefaultTerms
{
    public static IReadOnlyList<string> Deny { get; } = ["build a bomb", "make a bomb", "credit card dump", "kill yourself"];
}
