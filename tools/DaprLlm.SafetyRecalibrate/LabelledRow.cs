using System.Text.Json;

namespace DaprLlm.SafetyRecalibrate;

/// <summary>One reviewer label: the binary label, the categories the reviewer named, and the model's scores then.</summary>
public sealed record LabelledRow(int Label, IReadOnlySet<string> Categories, IReadOnlyDictionary<string, double> Scores)
{
    /// <summary>Reads a row of the export (../shared/data schema with meta.category_scores); null when it has no scores.</summary>
    public static LabelledRow? Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (!root.TryGetProperty("meta", out var meta) || meta.ValueKind != JsonValueKind.Object
            || !meta.TryGetProperty("category_scores", out var scores) || scores.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var categories = new HashSet<string>(StringComparer.Ordinal);
        if (root.TryGetProperty("labels", out var labels) && labels.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in labels.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Number && property.Value.GetInt32() > 0)
                {
                    categories.Add(property.Name);
                }
            }
        }

        return new LabelledRow(
            root.GetProperty("label").GetInt32(),
            categories,
            scores.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble(), StringComparer.Ordinal));
    }
}
