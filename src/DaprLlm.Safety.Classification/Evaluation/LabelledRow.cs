using System.Text.Json;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Classification.Evaluation;

/// <summary>One row of the shared data schema (../shared/data/README.md): text, binary label, finer labels, PII spans.</summary>
public sealed record LabelledRow(string Id, string Text, int Label, IReadOnlyDictionary<string, int?> Labels, IReadOnlyList<GoldSpan> Spans)
{
    public static IEnumerable<LabelledRow> ReadFile(string path)
    {
        foreach (var line in File.ReadLines(path))
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                yield return Parse(line);
            }
        }
    }

    public static LabelledRow Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        var text = root.TryGetProperty("text", out var t) ? t.GetString() ?? string.Empty : string.Empty;
        var labels = new Dictionary<string, int?>(StringComparer.Ordinal);
        if (root.TryGetProperty("labels", out var l) && l.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in l.EnumerateObject())
            {
                labels[property.Name] = property.Value.ValueKind == JsonValueKind.Number ? property.Value.GetInt32() : null;
            }
        }

        return new LabelledRow(
            root.TryGetProperty("id", out var id) ? id.GetString() ?? string.Empty : string.Empty,
            text,
            root.TryGetProperty("label", out var label) && label.ValueKind == JsonValueKind.Number ? label.GetInt32() : 0,
            labels,
            ReadSpans(root, text));
    }

    private static List<GoldSpan> ReadSpans(JsonElement root, string text)
    {
        var spans = new List<GoldSpan>();
        if (!root.TryGetProperty("spans", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return spans;
        }

        int[]? codePointToUtf16 = null;
        foreach (var span in array.EnumerateArray())
        {
            var start = span.GetProperty("start").GetInt32();
            var end = span.GetProperty("end").GetInt32();
            var value = span.TryGetProperty("text", out var v) ? v.GetString() : null;
            // The data was written by Python, whose offsets count code points; .NET counts UTF-16 units. They differ
            // only after characters outside the BMP (emoji), so convert when the span text says so.
            if (value is not null && !SliceEquals(text, start, end, value))
            {
                codePointToUtf16 ??= CodePointOffsets(text);
                if (end < codePointToUtf16.Length)
                {
                    (start, end) = (codePointToUtf16[start], codePointToUtf16[end]);
                }
            }

            spans.Add(new GoldSpan(span.GetProperty("label").GetString() ?? string.Empty, new TextSpan(start, end)));
        }

        return spans;
    }

    private static bool SliceEquals(string text, int start, int end, string value) =>
        end <= text.Length && start <= end && text.AsSpan(start, end - start).SequenceEqual(value);

    private static int[] CodePointOffsets(string text)
    {
        var offsets = new List<int>(text.Length + 1);
        for (var i = 0; i < text.Length; i++)
        {
            offsets.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
        }

        offsets.Add(text.Length);
        return [.. offsets];
    }
}

/// <summary>A gold PII span: entity type and character range (UTF-16 offsets).</summary>
public readonly record struct GoldSpan(string Label, TextSpan Span);
