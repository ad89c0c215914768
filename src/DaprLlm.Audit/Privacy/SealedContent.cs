using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Privacy;

/// <summary>Whether a record's stored text can be read: never sealed, sealed and readable, or erased.</summary>
public static class ContentStates
{
    public const string Clear = "clear";
    public const string Readable = "readable";
    public const string Erased = "erased";
}

/// <summary>What a reader shows of a record: its content with sealed fields opened (or marked erased) and which it was.</summary>
public readonly record struct OpenedContent(string Json, string State);

/// <summary>
/// The read side of <see cref="SubjectFieldSealer"/>: opens a stored content's sealed fields with the subject's key, or,
/// once the key is destroyed (or replaced after erasure), shows <see cref="ErasedMarker"/> in their place. Records
/// stored before sealing existed have no sealed fields and read as they are.
/// </summary>
public static class SealedContent
{
    /// <summary>What an erased free-text field reads as.</summary>
    public const string ErasedMarker = "[erased]";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static OpenedContent Open(AuditEntry entry, byte[]? key)
    {
        if (entry.Subject is null || !entry.Content.Contains(SubjectFieldSealer.Prefix, StringComparison.Ordinal))
        {
            return new OpenedContent(entry.Content, ContentStates.Clear);
        }

        using var aes = key is null ? null : new AesGcm(key, SubjectSealer.TagSize);
        var state = new OpenState(aes, Encoding.UTF8.GetBytes(entry.EventId));
        using var document = JsonDocument.Parse(entry.Content);
        var buffer = new ArrayBufferWriter<byte>(entry.Content.Length);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(writer, document.RootElement, state);
        }

        return new OpenedContent(Encoding.UTF8.GetString(buffer.WrittenSpan), state.Erased ? ContentStates.Erased : ContentStates.Readable);
    }

    private static void Write(Utf8JsonWriter writer, JsonElement element, OpenState state)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    Write(writer, property.Value, state);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item, state);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String when element.GetString() is { } text && text.StartsWith(SubjectFieldSealer.Prefix, StringComparison.Ordinal):
                writer.WriteStringValue(state.Open(text.AsSpan(SubjectFieldSealer.Prefix.Length).ToString()));
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    private sealed class OpenState(AesGcm? aes, byte[] associatedData)
    {
        public bool Erased { get; private set; }

        public string Open(string sealedText)
        {
            if (aes is not null)
            {
                try
                {
                    return SubjectSealer.Open(aes, associatedData, sealedText);
                }
                catch (Exception e) when (e is CryptographicException or FormatException)
                {
                    // The subject was erased and came back: the key now is a new one that never sealed this field.
                }
            }

            Erased = true;
            return ErasedMarker;
        }
    }
}
