namespace DaprLlm.Contracts.Safety;

/// <summary>The safety app's decision on one text.</summary>
public sealed record ModerationVerdict(string Decision, IReadOnlyList<string> Reasons, string PolicyVersion)
{
    public bool IsAllowed => Decision == Decisions.Allow;

    /// <summary>Decision values.</summary>
    public static class Decisions
    {
        public const string Allow = "allow";
        public const string Block = "block";
        public const string Review = "review";
    }
}
