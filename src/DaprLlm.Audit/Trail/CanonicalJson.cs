using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// Canonical JSON: object keys sorted ordinally, no insignificant whitespace, numbers as written. The hash of a record
/// covers these bytes, so the same record always hashes the same, whatever produced it.
/// </summary>
public static class CanonicalJson
{
    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };

    /// <summary>The canonical form of a JSON value.</summary>
    public static string Canonicalize(JsonElement element)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(writer, element);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The canonical form of a JSON text.</summary>
    public static string Canonicalize(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Canonicalize(document.RootElement);
    }

    /// <summary>
    /// The bytes a record's hash covers: every stored field of the entry plus when it was recorded, keys in ordinal
    /// order. The position (seq) is deliberately not covered: the prev-hash link orders records.
    /// </summary>
    public static void WriteRecord(IBufferWriter<byte> output, AuditEntry entry, long recordedAtMs)
    {
        using var writer = new Utf8JsonWriter(output, WriterOptions);
        WriteRecord(writer, entry, recordedAtMs);
    }

    /// <summary>The same bytes as <see cref="WriteRecord(IBufferWriter{byte}, AuditEntry, long)"/>, on a writer the caller reuses.</summary>
    internal static void WriteRecord(Utf8JsonWriter writer, AuditEntry entry, long recordedAtMs)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("content");
        writer.WriteRawValue(entry.Content, skipInputValidation: true);
        writer.WriteString("eventId", entry.EventId);
        writer.WriteString("eventType", entry.EventType);
        writer.WriteNumber("occurredAt", entry.OccurredAtMs);
        writer.WriteNumber("recordedAt", recordedAtMs);
        WriteNullable(writer, "refId", entry.RefId);
        writer.WriteString("region", entry.Region);
        WriteNullable(writer, "sealed", entry.Sealed);
        writer.WriteString("source", entry.Source);
        WriteNullable(writer, "subject", entry.Subject);
        writer.WriteString("tenantId", entry.TenantId);
        writer.WriteEndObject();
    }

    /// <summary>
    /// The same bytes again from a row's UTF-8 columns as the database holds them (verify reads them without decoding
    /// to strings). The caller guarantees every span is valid UTF-8: only then do both overloads escape alike.
    /// </summary>
    internal static void WriteRecord(Utf8JsonWriter writer, in Utf8Record record)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("content"u8);
        writer.WriteRawValue(record.Content, skipInputValidation: true);
        writer.WriteString("eventId"u8, record.EventId);
        writer.WriteString("eventType"u8, record.EventType);
        writer.WriteNumber("occurredAt"u8, record.OccurredAtMs);
        writer.WriteNumber("recordedAt"u8, record.RecordedAtMs);
        WriteNullable(writer, "refId"u8, record.RefId, record.RefIdIsNull);
        writer.WriteString("region"u8, record.Region);
        WriteNullable(writer, "sealed"u8, record.Sealed, record.SealedIsNull);
        writer.WriteString("source"u8, record.Source);
        WriteNullable(writer, "subject"u8, record.Subject, record.SubjectIsNull);
        writer.WriteString("tenantId"u8, record.TenantId);
        writer.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter writer, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool isNull)
    {
        if (isNull)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private static void Write(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                var properties = new List<JsonProperty>();
                foreach (var property in element.EnumerateObject())
                {
                    properties.Add(property);
                }

                properties.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
                foreach (var property in properties)
                {
                    writer.WritePropertyName(property.Name);
                    Write(writer, property.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            case JsonValueKind.Number:
                writer.WriteRawValue(element.GetRawText(), skipInputValidation: true);
                break;
            case JsonValueKind.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonValueKind.False:
                writer.WriteBooleanValue(false);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}
