using System.Text;
using System.Text.Json;

namespace DaprLlm.Audit.Ingestion;

/// <summary>
/// The parts of a CloudEvents 1.0 envelope the trail needs. Read raw (the audit app does not unwrap with
/// UseCloudEvents) so the event id, type and source survive for idempotency and provenance.
/// </summary>
public sealed record CloudEventEnvelope(string Id, string Type, string Source, string Topic, DateTimeOffset? Time, JsonElement Data)
{
    /// <summary>The type Dapr gives events published without one; the topic names them better.</summary>
    public const string DaprDefaultType = "com.dapr.event.sent";

    public string EventType => Type is DaprDefaultType or "" ? Topic : Type;

    public static bool TryParse(JsonElement root, string topic, out CloudEventEnvelope? envelope, out string? error)
    {
        envelope = null;
        error = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "the body is not a CloudEvent object";
            return false;
        }

        if (HasLoneSurrogate(root))
        {
            // System.Text.Json cannot read such a string; every delivery would fail the same way.
            error = "the CloudEvent has a string with a lone surrogate (\\uD800-\\uDFFF escape without its pair)";
            return false;
        }

        var id = Text(root, "id");
        if (string.IsNullOrWhiteSpace(id))
        {
            error = "the CloudEvent has no id";
            return false;
        }

        if (!ColumnText.IsClean(id))
        {
            // Redelivery could never store it (PostgreSQL refuses NUL) and a cleaned copy could collide with another id.
            error = "the CloudEvent id has a control character, which CloudEvents forbids";
            return false;
        }

        JsonElement data;
        if (root.TryGetProperty("data", out var d))
        {
            // Cloned: the envelope outlives the request's JsonDocument.
            data = d.ValueKind == JsonValueKind.String && LooksLikeJson(d.GetString()) ? Parse(d.GetString()!) : d.Clone();
        }
        else if (Text(root, "data_base64") is { } base64)
        {
            var bytes = new byte[base64.Length];
            if (!Convert.TryFromBase64String(base64, bytes, out var length))
            {
                // Undecodable data can never be stored: dropped (and logged), not redelivered forever.
                error = "data_base64 is not base64";
                return false;
            }

            var text = Encoding.UTF8.GetString(bytes, 0, length);
            data = LooksLikeJson(text) ? Parse(text) : JsonSerializer.SerializeToElement(new { text });
        }
        else
        {
            data = JsonSerializer.SerializeToElement(new { });
        }

        if (data.ValueKind is not JsonValueKind.Object)
        {
            data = JsonSerializer.SerializeToElement(new { value = data });
        }

        DateTimeOffset? time = DateTimeOffset.TryParse(Text(root, "time"), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t) ? t : null;
        envelope = new CloudEventEnvelope(
            id, ColumnText.Clean(Text(root, "type") ?? ""), ColumnText.Clean(Text(root, "source") ?? ""), ColumnText.Clean(Text(root, "topic") ?? topic), time, data);
        return true;
    }

    private static bool HasLoneSurrogate(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    return false;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        if (HasLoneSurrogate(property.Value) || property.Name is null)
                        {
                            return true;
                        }
                    }

                    return false;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        if (HasLoneSurrogate(item))
                        {
                            return true;
                        }
                    }

                    return false;
                default:
                    return false;
            }
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool LooksLikeJson(string? text) => text is not null && text.TrimStart() is ['{', ..] or ['[', ..];

    private static JsonElement Parse(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(new { text });
        }
    }
}
