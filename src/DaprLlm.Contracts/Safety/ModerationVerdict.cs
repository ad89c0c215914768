namespace DaprLlm.Contracts.Safety;

/// <summary>The safety app's decision on one text.</summary>
/// <param name="Decision">allow, review or block.</param>
/// <param name="Reasons">Why the decision is not allow, e.g. "category:violence=0.93", "deny-term:make a bomb".</param>
/// <param name="PolicyVersion">The policy version the decision was made under.</param>
/// <param name="CategoryScores">Calibrated probability per category (OpenAI's names plus "jailbreak").</param>
/// <param name="RuleHits">Rule-layer hits as "kind:name".</param>
/// <param name="Pii">PII found in the text (character offsets into it).</param>
/// <param name="ReviewId">The human-review item created when the decision is review.</param>
/// <param name="Cached">True when the verdict came from the cache (same content, same policy version).</param>
public sealed record ModerationVerdict(
    string Decision,
    IReadOnlyList<string> Reasons,
    string PolicyVersion,
    IReadOnlyDictionary<string, double>? CategoryScores = null,
    IReadOnlyList<string>? RuleHits = null,
    IReadOnlyList<PiiSpan>? Pii = null,
    string? ReviewId = null,
    bool Cached = false)
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
