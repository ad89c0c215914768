using System.Text.Json;
using DaprLlm.Contracts.Events;

namespace DaprLlm.Audit.Reports;

/// <summary>
/// How a stored record names its safety category and moderation action, read by field name; shared by reports and
/// alerts so both count the same category for the same decision.
/// </summary>
public static class SafetyCategory
{
    /// <summary>What a flagged decision that names no category counts against.</summary>
    public const string Uncategorized = "uncategorized";

    /// <summary>
    /// The category a record names ("category", or moderation.decided's "topCategory"), else the highest-scoring one
    /// of a "categories" or "scores" map.
    /// </summary>
    public static string? Of(JsonElement root)
    {
        if ((Text(root, "category") ?? Text(root, "topCategory")) is { } category)
        {
            return category;
        }

        if ((root.TryGetProperty("categories", out var scores) || root.TryGetProperty("scores", out scores)) && scores.ValueKind == JsonValueKind.Object)
        {
            string? best = null;
            var bestScore = double.MinValue;
            foreach (var score in scores.EnumerateObject())
            {
                if (score.Value.ValueKind == JsonValueKind.Number && score.Value.GetDouble() > bestScore)
                {
                    (best, bestScore) = (score.Name, score.Value.GetDouble());
                }
            }

            return best;
        }

        return null;
    }

    /// <summary>A moderation record's action ("action", or "decision").</summary>
    public static string? Action(JsonElement root) => Text(root, "action") ?? Text(root, "decision");

    /// <summary>
    /// True for a decision a client asked for through <c>/v1/moderations</c> (Stage "api"): the client classified a text
    /// (user content it screens, say), which is no guardrail incident of its own chat traffic.
    /// </summary>
    public static bool IsApiCheck(JsonElement root) => Text(root, "stage") == ModerationDecidedV1.ApiStage;

    /// <summary>True when the action lets the text through (no action at all counts as allow).</summary>
    public static bool IsAllow(string? action) => action is null or "allow" or "allowed" or "pass";

    internal static string? Text(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
