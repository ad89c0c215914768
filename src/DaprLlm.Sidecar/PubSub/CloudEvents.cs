using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>CloudEvents 1.0 envelopes as daprd builds them when publishing, and as it reads them when delivering.</summary>
public static class CloudEvents
{
    public const string ContentType = "application/cloudevents+json";
    public const string EventType = "com.dapr.event.sent";
    private const string DefaultDataContentType = "text/plain";
    private const string OverridePrefix = "cloudevent.";

    /// <summary>What a publisher handed over: body, content type, metadata and trace context.</summary>
    public sealed record PublishInput(
        string AppId, string PubSubName, string Topic, ReadOnlyMemory<byte> Data, string? DataContentType,
        IReadOnlyDictionary<string, string> Metadata, string TraceParent, string? TraceState);

    /// <summary>
    /// Writes the envelope as UTF-8 JSON: an incoming CloudEvent (application/cloudevents+json) is kept and completed;
    /// other data is wrapped with a new id, source = app id, type com.dapr.event.sent. <c>cloudevent.*</c> metadata
    /// overrides fields and <c>ttlInSeconds</c> adds <c>expiration</c>. The envelope is written directly, without a JSON
    /// tree: a payload that is valid JSON is copied as it is (publishing is hot, e.g. the gateway's audit events).
    /// Throws <see cref="JsonException"/> for a CloudEvent body that is not a JSON object and
    /// <see cref="FormatException"/> for a bad <c>ttlInSeconds</c>.
    /// </summary>
    public static byte[] Create(PublishInput input, DateTimeOffset now)
    {
        var overrides = Overrides(input.Metadata, now);
        var buffer = new ArrayBufferWriter<byte>(input.Data.Length + 512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (IsCloudEventContentType(input.DataContentType))
            {
                WriteCompletedCloudEvent(writer, input, overrides);
            }
            else
            {
                WriteWrapped(writer, input, overrides, now);
            }

            // What no field above took: cloudevent.* names of other fields, and expiration.
            foreach (var (name, value) in overrides)
            {
                if (value is not null)
                {
                    writer.WriteString(name, value);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The envelope daprd makes for a raw (non-CloudEvent) message when a subscription asks for rawPayload.</summary>
    public static byte[] FromRawPayload(ReadOnlyMemory<byte> data, string topic, string pubsubName)
    {
        var buffer = new ArrayBufferWriter<byte>(data.Length * 4 / 3 + 256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", Guid.NewGuid());
            writer.WriteString("source", "pubsub");
            writer.WriteString("type", EventType);
            writer.WriteString("specversion", "1.0");
            writer.WriteString("datacontenttype", "application/octet-stream");
            writer.WriteString("topic", topic);
            writer.WriteString("pubsubname", pubsubName);
            writer.WriteBase64String("data_base64", data.Span);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>True when <paramref name="expiration"/> (an envelope's <c>expiration</c>) is in the past (daprd drops such events).</summary>
    public static bool HasExpired(string? expiration, DateTimeOffset now) =>
        expiration is not null &&
        DateTimeOffset.TryParse(expiration, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expiry) && expiry < now;

    public static bool IsCloudEventContentType(string? contentType) =>
        contentType is not null && MediaType(contentType).Equals(ContentType, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A new W3C traceparent for a publish that arrived without one. Ids from Activity's generator, as the tracing
    /// libraries make them: random but not cryptographic (RandomNumberGenerator cost ~2 % of a publish in a profile).
    /// </summary>
    public static string NewTraceParent() =>
        $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01";

    /// <summary>Go's time.RFC3339 for a UTC time, as daprd writes "time" and "expiration".</summary>
    private static string Rfc3339(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static ReadOnlySpan<char> MediaType(string contentType)
    {
        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? contentType.AsSpan() : contentType.AsSpan(0, semicolon)).Trim();
    }

    /// <summary>
    /// Field values that replace what the envelope would otherwise hold, in metadata order: <c>cloudevent.*</c>, then
    /// <c>expiration</c> from <c>ttlInSeconds</c>. A writer sets an entry's value to null once it has written it.
    /// </summary>
    private static List<KeyValuePair<string, string?>> Overrides(IReadOnlyDictionary<string, string> metadata, DateTimeOffset now)
    {
        var overrides = new List<KeyValuePair<string, string?>>();
        if (metadata.Count == 0)
        {
            return overrides;
        }

        foreach (var (key, value) in metadata)
        {
            if (key.StartsWith(OverridePrefix, StringComparison.OrdinalIgnoreCase) && key.Length > OverridePrefix.Length)
            {
                Set(overrides, key[OverridePrefix.Length..].ToLowerInvariant(), value);
            }
        }

        if (metadata.TryGetValue("ttlInSeconds", out var ttlText) && ttlText.Length > 0)
        {
            // Bounded as daprd's ParseTTL bounds it (int32 seconds), which also keeps the expiration a valid date.
            if (!long.TryParse(ttlText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ttl) || ttl is <= 0 or > int.MaxValue)
            {
                throw new FormatException($"metadata ttlInSeconds must be an integer from 1 to {int.MaxValue}, got '{ttlText}'");
            }

            Set(overrides, "expiration", Rfc3339(now.AddSeconds(ttl)));
        }

        return overrides;

        static void Set(List<KeyValuePair<string, string?>> list, string name, string value)
        {
            var index = list.FindIndex(kv => kv.Key == name);
            if (index >= 0)
            {
                list[index] = new(name, value);
            }
            else
            {
                list.Add(new(name, value));
            }
        }
    }

    /// <summary>Takes the override for <paramref name="name"/> (null when there is none) so it is written only once.</summary>
    private static string? TakeOverride(List<KeyValuePair<string, string?>> overrides, string name)
    {
        for (var i = 0; i < overrides.Count; i++)
        {
            if (overrides[i].Key == name && overrides[i].Value is { } value)
            {
                overrides[i] = new(name, null);
                return value;
            }
        }

        return null;
    }

    private static void WriteField(Utf8JsonWriter writer, List<KeyValuePair<string, string?>> overrides, string name, string value) =>
        writer.WriteString(name, TakeOverride(overrides, name) ?? value);

    private static void WriteWrapped(Utf8JsonWriter writer, PublishInput input, List<KeyValuePair<string, string?>> overrides, DateTimeOffset now)
    {
        var contentType = string.IsNullOrEmpty(input.DataContentType) ? DefaultDataContentType : input.DataContentType;
        WriteField(writer, overrides, "id", Guid.NewGuid().ToString());
        WriteField(writer, overrides, "source", input.AppId);
        WriteField(writer, overrides, "type", EventType);
        WriteField(writer, overrides, "specversion", "1.0");
        WriteField(writer, overrides, "datacontenttype", contentType);
        WriteField(writer, overrides, "topic", input.Topic);
        WriteField(writer, overrides, "pubsubname", input.PubSubName);
        WriteField(writer, overrides, "traceid", input.TraceParent);
        WriteField(writer, overrides, "traceparent", input.TraceParent);
        WriteField(writer, overrides, "tracestate", input.TraceState ?? "");
        WriteField(writer, overrides, "time", Rfc3339(now));
        WriteData(writer, overrides, input.Data.Span, contentType);
    }

    private static void WriteData(Utf8JsonWriter writer, List<KeyValuePair<string, string?>> overrides, ReadOnlySpan<byte> data, string contentType)
    {
        var mediaType = MediaType(contentType);
        var isJson = mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) ||
            mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
        ReadOnlySpan<byte> json = default;
        if (isJson && (data.IsEmpty || TryGetJsonValue(data, out json)))
        {
            if (TakeOverride(overrides, "data") is { } dataOverride)
            {
                writer.WriteString("data", dataOverride);
            }
            else if (data.IsEmpty)
            {
                writer.WriteNull("data");
            }
            else
            {
                writer.WritePropertyName("data");
                writer.WriteRawValue(json, skipInputValidation: true);
            }

            return;
        }

        // Not JSON (or not valid JSON after all, where daprd falls back to a string). Like contrib: only octet-stream goes
        // to data_base64, every other type is sent as a string. Bytes that are not UTF-8 would not survive as a string,
        // so they go to data_base64 too.
        if (!mediaType.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase) && System.Text.Unicode.Utf8.IsValid(data))
        {
            if (TakeOverride(overrides, "data") is { } dataOverride)
            {
                writer.WriteString("data", dataOverride);
            }
            else
            {
                writer.WriteString("data", data);
            }
        }
        else if (TakeOverride(overrides, "data_base64") is { } base64Override)
        {
            writer.WriteString("data_base64", base64Override);
        }
        else
        {
            writer.WriteBase64String("data_base64", data);
        }
    }

    /// <summary>
    /// True when <paramref name="data"/> holds exactly one JSON value (whitespace around it allowed); <paramref name="value"/>
    /// is that value without the whitespace. A reader pass validates it without building anything.
    /// </summary>
    private static bool TryGetJsonValue(ReadOnlySpan<byte> data, out ReadOnlySpan<byte> value)
    {
        value = default;
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read())
            {
                return false;
            }

            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var end = (int)reader.BytesConsumed;
            if (reader.Read())
            {
                return false;
            }

            value = data[start..end];
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// An incoming CloudEvent keeps its fields (values copied as they are) in their order; the fields daprd fills in when
    /// missing or null are added, <c>topic</c> and <c>pubsubname</c> are always this publish's.
    /// </summary>
    private static void WriteCompletedCloudEvent(Utf8JsonWriter writer, PublishInput input, List<KeyValuePair<string, string?>> overrides)
    {
        ReadOnlySpan<string> defaulted = ["id", "source", "type", "specversion", "datacontenttype", "traceid", "traceparent", "tracestate"];
        Span<bool> present = stackalloc bool[defaulted.Length];
        var data = input.Data.Span;
        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("the body is not a JSON object, so it cannot be a CloudEvent");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            if (!names.Add(name))
            {
                throw new JsonException($"the CloudEvent has the field '{name}' more than once");
            }

            reader.Read();
            var isNull = reader.TokenType == JsonTokenType.Null;
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var raw = data[start..(int)reader.BytesConsumed];

            var slot = defaulted.IndexOf(name);
            if (slot >= 0 && isNull)
            {
                // daprd fills a null field like a missing one: written below.
                continue;
            }

            if (slot >= 0)
            {
                present[slot] = true;
            }

            if (TakeOverride(overrides, name) is { } value)
            {
                writer.WriteString(name, value);
            }
            else if (name == "topic")
            {
                writer.WriteString(name, input.Topic);
            }
            else if (name == "pubsubname")
            {
                writer.WriteString(name, input.PubSubName);
            }
            else
            {
                writer.WritePropertyName(name);
                writer.WriteRawValue(raw, skipInputValidation: true);
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new JsonException("the CloudEvent is not one complete JSON object");
        }

        string?[] defaults = [null, input.AppId, EventType, "1.0", "application/json", input.TraceParent, input.TraceParent, input.TraceState ?? ""];
        for (var i = 0; i < defaulted.Length; i++)
        {
            if (!present[i])
            {
                WriteField(writer, overrides, defaulted[i], defaults[i] ?? Guid.NewGuid().ToString());
            }

            if (i == 4)
            {
                // topic and pubsubname follow datacontenttype, as daprd orders them.
                if (!names.Contains("topic"))
                {
                    WriteField(writer, overrides, "topic", input.Topic);
                }

                if (!names.Contains("pubsubname"))
                {
                    WriteField(writer, overrides, "pubsubname", input.PubSubName);
                }
            }
        }
    }

    /// <summary>The fields of a delivered envelope the sidecar itself needs, read without building a JSON tree.</summary>
    public readonly record struct Head(string? Id, string? Topic, string? TraceParent, string? Expiration);

    /// <summary>
    /// Reads <see cref="Head"/> from an envelope; throws <see cref="JsonException"/> when it is not one JSON object. The
    /// whole document is read (so it is validated) but only top-level string fields are kept.
    /// </summary>
    public static Head ReadHead(ReadOnlySpan<byte> envelope)
    {
        var reader = new Utf8JsonReader(envelope);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("not a JSON object");
        }

        string? id = null, topic = null, traceParent = null, expiration = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("id"u8) ? 1
                : reader.ValueTextEquals("topic"u8) ? 2
                : reader.ValueTextEquals("traceparent"u8) ? 3
                : reader.ValueTextEquals("expiration"u8) ? 4
                : 0;
            reader.Read();
            if (field == 0 || reader.TokenType != JsonTokenType.String)
            {
                reader.Skip();
                continue;
            }

            switch (field)
            {
                case 1:
                    id = reader.GetString();
                    break;
                case 2:
                    topic = reader.GetString();
                    break;
                case 3:
                    traceParent = reader.GetString();
                    break;
                default:
                    expiration = reader.GetString();
                    break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new JsonException("not one complete JSON object");
        }

        return new Head(id, topic, traceParent, expiration);
    }

    /// <summary>The envelope as a tree, for routing rules that look into it.</summary>
    public static JsonObject Parse(ReadOnlySpan<byte> envelope) =>
        JsonNode.Parse(envelope) as JsonObject ?? throw new JsonException("not a JSON object");
}
