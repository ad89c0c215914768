using System.Text.Json.Serialization;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Classification.Policies;

/// <summary>
/// A tenant's moderation policy: thresholds per category, what PII and rule hits do, and optional term lists.
/// Versioned data (stored in Dapr state); every verdict records <see cref="Version"/>.
/// </summary>
/// <param name="Version">Opaque version string, e.g. "default-v4" (shipped with the model) or "acme-r3" (a tenant's third stored revision); part of the verdict cache key.</param>
/// <param name="Categories">Thresholds per category; a category missing here is reported but never routes.</param>
/// <param name="PiiAction">"allow" (report spans only), "review" or "block" when PII is found.</param>
/// <param name="DenyTerms">Terms that block wherever they appear (after normalisation).</param>
/// <param name="AllowTerms">Terms that suppress a deny term they overlap (e.g. "skills to kill it" idioms).</param>
/// <param name="Patterns">Tenant regex rules by name; a match blocks. Run by the linear-time engine, so no pattern can hang a check.</param>
public sealed record SafetyPolicy(
    string Version,
    IReadOnlyDictionary<string, CategoryThresholds> Categories,
    string PiiAction = Decisions.Allow,
    IReadOnlyList<string>? DenyTerms = null,
    IReadOnlyList<string>? AllowTerms = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Patterns = null)
{
    /// <summary>Most tenant patterns one policy may carry: each one is a pass over every text.</summary>
    public const int MaxPatterns = 64;

    /// <summary>The policy's regex rules, as the rule layer takes them.</summary>
    public IReadOnlyList<RegexRule> RegexRules() =>
        Patterns is null ? [] : [.. Patterns.Select(p => new RegexRule(p.Key, p.Value))];

    /// <summary>Problems that make the policy unusable; empty when it is valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Version))
        {
            problems.Add("version is required");
        }

        if (Categories is null || Categories.Count == 0)
        {
            problems.Add("categories must list at least one category");
        }
        else
        {
            foreach (var (category, thresholds) in Categories)
            {
                if (thresholds is null)
                {
                    problems.Add($"categories.{category}: thresholds are required");
                }
                else if (thresholds.Validate() is { } problem)
                {
                    problems.Add($"categories.{category}: {problem}");
                }
            }
        }

        if (PiiAction is not (Decisions.Allow or Decisions.Review or Decisions.Block))
        {
            problems.Add("piiAction must be allow, review or block");
        }

        // What the rule layer would refuse to build must be refused here: a stored policy that cannot be compiled
        // would fail every later check of the tenant.
        try
        {
            _ = new TermMatcher(DenyTerms ?? [], AllowTerms);
        }
        catch (ArgumentException e)
        {
            problems.Add("denyTerms/allowTerms: " + e.Message);
        }

        if (Patterns is { Count: > MaxPatterns })
        {
            problems.Add($"patterns: at most {MaxPatterns} patterns");
        }
        else if (Patterns is not null)
        {
            try
            {
                _ = new SafeRegexRules(RegexRules());
            }
            catch (ArgumentException e)
            {
                problems.Add("patterns: " + e.Message);
            }
        }

        return problems;
    }
}
