using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>CloudEvents 1.0 envelopes as daprd builds them when publishing, and as it reads them when delivering.</summary>
public static class CloudEvents
{
    public const string ContentType = "application/cloudevents+json";
    public const string EventType = "com.dapr.event.sent";
    private const string DefaultDataContentType = "text/plain";

    /// <summary>What a publisher handed over: body, content type, metadata and trace context.</summary>
    public sealed record PublishInput(
        string AppId, string PubSubName, string Topic, ReadOnlyMemory<byte> Data, string? DataContentType,
        IReadOnlyDictionary<string, string> Metadata, string TraceParent, string? TraceState);

    /// <summary>
    /// Builds the envelope: an incoming CloudEvent (application/cloudevents+json) is kept and completed; other data is
    /// wrapped with a new id, source = app id, type com.dapr.event.sent. <c>cloudevent.*</c> metadata overrides fields
    /// and <c>ttlInSeconds</c> adds <c>expiration</c>.
    /// </summary>
    public static JsonObject Create(PublishInput input, DateTimeOffset now)
    {
        JsonObject envelope;
        if (IsCloudEventContentType(input.DataContentType))
        {
            envelope = JsonNode.Parse(input.Data.Span) as JsonObject
                ?? throw new JsonException("the body is not a JSON object, so it cannot be a CloudEvent");
            envelope["id"] ??= Guid.NewGuid().ToString();
            envelope["source"] ??= input.AppId;
            envelope["type"] ??= EventType;
            envelope["specversion"] ??= "1.0";
            envelope["datacontenttype"] ??= "application/json";
            envelope["topic"] = input.Topic;
            envelope["pubsubname"] = input.PubSubName;
            envelope["traceid"] ??= input.TraceParent;
            envelope["traceparent"] ??= input.TraceParent;
            envelope["tracestate"] ??= input.TraceState ?? "";
        }
        else
        {
            var contentType = string.IsNullOrEmpty(input.DataContentType) ? DefaultDataContentType : input.DataContentType;
            envelope = new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString(),
                ["source"] = input.AppId,
                ["type"] = EventType,
                ["specversion"] = "1.0",
                ["datacontenttype"] = contentType,
                ["topic"] = input.Topic,
                ["pubsubname"] = input.PubSubName,
                ["traceid"] = input.TraceParent,
                ["traceparent"] = input.TraceParent,
                ["tracestate"] = input.TraceState ?? "",
                ["time"] = Rfc3339(now),
            };
            SetData(envelope, input.Data, contentType);
        }

        foreach (var (key, value) in input.Metadata)
        {
            if (key.StartsWith("cloudevent.", StringComparison.OrdinalIgnoreCase) && key.Length > "cloudevent.".Length)
            {
                envelope[key["cloudevent.".Length..].ToLowerInvariant()] = value;
            }
        }

        if (input.Metadata.TryGetValue("ttlInSeconds", out var ttlText) && ttlText.Length > 0)
        {
            if (!long.TryParse(ttlText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ttl) || ttl <= 0)
            {
                throw new FormatException($"metadata ttlInSeconds must be a positive integer, got '{ttlText}'");
            }

            envelope["expiration"] = Rfc3339(now.AddSeconds(ttl));
        }

        return envelope;
    }

    /// <summary>The envelope daprd makes for a raw (non-CloudEvent) message when a subscription asks for rawPayload.</summary>
    public static JsonObject FromRawPayload(ReadOnlyMemory<byte> data, string topic, string pubsubName) => new()
    {
        ["id"] = Guid.NewGuid().ToString(),
        ["source"] = "pubsub",
        ["type"] = EventType,
        ["specversion"] = "1.0",
        ["datacontenttype"] = "application/octet-stream",
        ["topic"] = topic,
        ["pubsubname"] = pubsubName,
        ["data_base64"] = Convert.ToBase64String(data.Span),
    };

    /// <summary>True when the envelope has an <c>expiration</c> in the past (daprd drops such events).</summary>
    public static bool HasExpired(JsonObject envelope, DateTimeOffset now) =>
        envelope["expiration"] is JsonValue v && v.TryGetValue<string>(out var text) &&
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expiry) && expiry < now;

    public static bool IsCloudEventContentType(string? contentType) =>
        contentType is not null && contentType.Split(';')[0].Trim().Equals(ContentType, StringComparison.OrdinalIgnoreCase);

    /// <summary>A new W3C traceparent for a publish that arrived without one.</summary>
    public static string NewTraceParent()
    {
        Span<byte> bytes = stackalloc byte[24];
        RandomNumberGenerator.Fill(bytes);
        return $"00-{Convert.ToHexStringLower(bytes[..16])}-{Convert.ToHexStringLower(bytes[16..])}-01";
    }

    /// <summary>Go's time.RFC3339 for a UTC time, as daprd writes "time" and "expiration".</summary>
    private static string Rfc3339(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static bool IsUtf8(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);

    private static void SetData(JsonObject envelope, ReadOnlyMemory<byte> data, string contentType)
    {
        var mediaType = contentType.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType == "application/json" || mediaType.EndsWith("+json", StringComparison.Ordinal))
        {
            try
            {
                envelope["data"] = data.Length == 0 ? null : JsonNode.Parse(data.Span);
                return;
            }
            catch (JsonException)
            {
                // Not valid JSON after all: daprd falls back to sending it as a string.
            }
        }

        // Like contrib: only octet-stream goes to data_base64, every other type is sent as a string. Bytes that are not
        // UTF-8 would not survive as a string, so they go to data_base64 too.
        if (mediaType != "application/octet-stream" && IsUtf8(data.Span))
        {
            envelope["data"] = Encoding.UTF8.GetString(data.Span);
        }
        else
        {
            envelope["data_base64"] = Convert.ToBase64String(data.Span);
        }
    }
}
