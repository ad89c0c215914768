using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using DaprLlm.Audit.Trail;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Audit.Privacy;

/// <summary>
/// Produces the stored form of an event payload: canonical JSON in which every free-text string has its PII replaced
/// by typed placeholders (<c>&lt;EMAIL_ADDRESS&gt;</c>), using the same detector as the safety app, and the user id
/// replaced by its pseudonym. Identifier fields (ids, enums, model names) are kept as they are. When the record has a
/// data subject, each masked free-text string is then sealed with the subject's key (<see cref="SubjectFieldSealer"/>),
/// so erasure leaves nothing of the subject's text readable while reports still read the identifier fields.
/// </summary>
public sealed class ContentMasker(PiiDetector detector)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // Field names (case-insensitive) that identify rather than describe; masking them would only break joins.
    private static readonly HashSet<string> KeptFields = new(StringComparer.OrdinalIgnoreCase)
    {
        "requestId", "model", "outcome", "finishReason", "inputDecision", "outputDecision", "traceId", "tenantId", "region",
        "keyId", "category", "decision", "reviewId", "policyVersion", "status", "action", "severity", "completedAt", "createdAt", "decidedAt",
        // Report dimensions: timestamps, queues and rule names are not personal, and the detector could mistake a time for a number.
        "slaDeadline", "receivedAt", "revealedAt", "direction", "queue", "ruleHits", "rules", "labels", "route", "cacheResult",
        // Dimensions reports and alerts group by; they must stay readable after a subject's text is sealed or erased.
        "topCategory", "piiTypes", "modelRequested", "modelRouted", "fallbackModel", "cache", "apiVersion", "app",
    };

    /// <summary>Field names that carry the end user's identifier.</summary>
    public static readonly string[] UserIdFields = ["userId", "subjectId", "endUserId"];

    /// <summary>The stored form of <paramref name="payload"/>; free text goes through <paramref name="sealer"/> when given.</summary>
    public string Mask(JsonElement payload, string? pseudonym, SubjectFieldSealer? sealer = null)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(writer, payload, null, pseudonym, sealer);
        }

        // Canonical form so the same event always stores (and hashes) the same bytes.
        return CanonicalJson.Canonicalize(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private void Write(Utf8JsonWriter writer, JsonElement element, string? name, string? pseudonym, SubjectFieldSealer? sealer)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    Write(writer, property.Value, property.Name, pseudonym, sealer);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item, name, pseudonym, sealer);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                var text = element.GetString()!;
                if (name is not null && UserIdFields.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    writer.WriteStringValue(pseudonym ?? "<USER_ID>");
                }
                else if (name is not null && KeptFields.Contains(name))
                {
                    writer.WriteStringValue(text);
                }
                else
                {
                    var masked = detector.Mask(text);
                    writer.WriteStringValue(sealer is null ? masked : sealer.Seal(masked));
                }

                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }
}
