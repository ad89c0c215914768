using System.Text.Json.Serialization;

namespace DaprLlm.Safety.Review;

/// <summary>
/// A reviewer's decision as a training row, in ../shared/data's JSONL schema (id, text, label, label_name, labels,
/// split, meta) so the training tool reads it like any other file. Text is PII-masked: labels need the content's
/// meaning, not the personal data in it.
/// </summary>
public sealed record LabelledExample(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("label")] int Label,
    [property: JsonPropertyName("label_name")] string LabelName,
    [property: JsonPropertyName("labels")] IReadOnlyDictionary<string, int> Labels,
    [property: JsonPropertyName("split")] string Split,
    [property: JsonPropertyName("meta")] LabelledExampleMeta Meta)
{
    public static LabelledExample? From(ReviewItem item, Func<string, string> mask) =>
        item.DecidedBy is null || item.Decision is null
            ? null // a default is not a human label
            : new LabelledExample(
                $"review:{item.Id}",
                mask(item.Text),
                item.Decision == ReviewStatuses.Block ? 1 : 0,
                item.Decision,
                item.Labels.ToDictionary(l => l, _ => 1, StringComparer.Ordinal),
                "review",
                new LabelledExampleMeta(item.TenantId, item.Direction, item.DecidedBy, item.PolicyVersion, item.ModelSuggestion, item.Categories, item.DecidedAt));
}

/// <summary>Where a labelled example came from, with the model's scores at the time (for recalibration).</summary>
public sealed record LabelledExampleMeta(
    [property: JsonPropertyName("tenant")] string Tenant,
    [property: JsonPropertyName("direction")] string Direction,
    [property: JsonPropertyName("reviewer")] string Reviewer,
    [property: JsonPropertyName("policy_version")] string PolicyVersion,
    [property: JsonPropertyName("model_suggestion")] string ModelSuggestion,
    [property: JsonPropertyName("category_scores")] IReadOnlyDictionary<string, double> CategoryScores,
    [property: JsonPropertyName("decided_at")] DateTimeOffset? DecidedAt);
