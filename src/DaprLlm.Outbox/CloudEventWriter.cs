using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace DaprLlm.Outbox;

/// <summary>
/// Writes the CloudEvents 1.0 envelope an event is stored and published as. Everything a subscriber relies on is fixed
/// here, at enqueue, rather than by the sidecar at publish: the id (so a redelivery is recognisable), source (the app
/// id, as the sidecar would set it), type (the topic: audit names events by it either way), time, and the traceparent
/// of the request that produced the event (the publish itself runs later, in the drain, outside that trace).
/// </summary>
public static class CloudEventWriter
{
    /// <summary>Record fields as Dapr's .NET SDK writes them (camelCase web defaults): subscribers read these names.</summary>
    public static readonly JsonSerializerOptions DataOptions = new(JsonSerializerDefaults.Web);

    public static byte[] Write(string id, string source, string topic, DateTimeOffset time, object data)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("specversion", "1.0");
            writer.WriteString("id", id);
            writer.WriteString("source", source);
            writer.WriteString("type", topic);
            writer.WriteString("time", time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            writer.WriteString("datacontenttype", "application/json");
            if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity)
            {
                writer.WriteString("traceparent", activity.Id);
                if (activity.TraceStateString is { Length: > 0 } state)
                {
                    writer.WriteString("tracestate", state);
                }
            }

            writer.WritePropertyName("data");
            JsonSerializer.Serialize(writer, data, data.GetType(), DataOptions);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
