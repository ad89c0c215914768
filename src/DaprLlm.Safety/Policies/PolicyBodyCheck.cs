using System.Text.Json;

namespace DaprLlm.Safety.Policies;

/// <summary>
/// Checks the members of a policy update before it is bound. Binding alone ignores a misspelt member and fills a
/// missing threshold with 0: <c>{"piiActon":"block"}</c> would change nothing yet answer 200, and
/// <c>{"violence":{"alow":0.2,"block":0.6}}</c> would set violence's allow threshold to 0, sending every text with any
/// violence score to review. Member names match case-insensitively, as the binding does.
/// </summary>
public static class PolicyBodyCheck
{
    private static readonly string[] Members = ["categories", "piiAction", "denyTerms", "allowTerms", "patterns"];

    private static readonly string[] ThresholdMembers = ["allow", "block"];

    /// <summary>What is wrong with the body and the member it is about; null when every member is known and complete.</summary>
    public static (string Message, string Param)? Problem(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return ("the policy must be a JSON object", "$");
        }

        foreach (var member in body.EnumerateObject())
        {
            if (!Members.Contains(member.Name, StringComparer.OrdinalIgnoreCase))
            {
                return ($"unknown member '{member.Name}' (a policy has {string.Join(", ", Members)})", member.Name);
            }

            if (string.Equals(member.Name, "categories", StringComparison.OrdinalIgnoreCase) && member.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var category in member.Value.EnumerateObject())
                {
                    if (ThresholdProblem(category) is { } problem)
                    {
                        return (problem, $"categories.{category.Name}");
                    }
                }
            }
        }

        return null;
    }

    private static string? ThresholdProblem(JsonProperty category)
    {
        if (category.Value.ValueKind != JsonValueKind.Object)
        {
            return $"categories.{category.Name} must be an object like {{\"allow\":0.3,\"block\":0.8}}";
        }

        var names = category.Value.EnumerateObject().Select(p => p.Name).ToList();
        if (names.FirstOrDefault(n => !ThresholdMembers.Contains(n, StringComparer.OrdinalIgnoreCase)) is { } unknown)
        {
            return $"categories.{category.Name}: unknown member '{unknown}' (thresholds are allow and block)";
        }

        return ThresholdMembers.FirstOrDefault(t => !names.Contains(t, StringComparer.OrdinalIgnoreCase)) is { } missing
            ? $"categories.{category.Name}: '{missing}' is missing (give both allow and block)"
            : null;
    }
}
