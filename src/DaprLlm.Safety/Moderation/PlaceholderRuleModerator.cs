using System.Globalization;
using System.Text;
using DaprLlm.Contracts.Safety;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// PLACEHOLDER rule layer until the safety issue lands its layered moderation: blocks text that contains a
/// term of a small deny list after case folding and whitespace normalisation. Policy version "placeholder-1".
/// </summary>
public sealed class PlaceholderRuleModerator
{
    public const string PolicyVersion = "placeholder-1";

    private static readonly string[] DenyTerms = ["build a bomb", "make a bomb", "credit card dump", "kill yourself"];

    public ModerationVerdict Check(string text)
    {
        var folded = Normalize(text);
        var hits = DenyTerms.Where(term => folded.Contains(term, StringComparison.Ordinal)).Select(t => $"deny-term:{t}").ToList();
        return new ModerationVerdict(hits.Count == 0 ? ModerationVerdict.Decisions.Allow : ModerationVerdict.Decisions.Block, hits, PolicyVersion);
    }

    private static string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        var lastWasSpace = false;
        foreach (var c in text.Normalize(NormalizationForm.FormKC))
        {
            if (char.IsWhiteSpace(c))
            {
                if (!lastWasSpace)
                {
                    builder.Append(' ');
                }

                lastWasSpace = true;
                continue;
            }

            builder.Append(char.ToLower(c, CultureInfo.InvariantCulture));
            lastWasSpace = false;
        }

        return builder.ToString();
    }
}
