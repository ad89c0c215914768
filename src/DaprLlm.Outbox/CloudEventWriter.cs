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

    // One buffer and JSON writer per thread, reset for each event: an event then allocates only its final array. With a
    // fresh 1 KB buffer per event (grown, then copied out) the audit-on gateway allocated ~9 KB more per request than
    // audit off, and ran more gen0 collections (GC trace in bench/RESULTS.md, session 9).
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static byte[] Write(string id, string source, string topic, DateTimeOffset time, object data)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(2048);
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        try
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
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            // A rare huge event does not keep a huge buffer on the thread.
            if (buffer.Capacity > 64 * 1024)
            {
                t_buffer = null;
                t_writer = null;
            }
        }
    }
}
