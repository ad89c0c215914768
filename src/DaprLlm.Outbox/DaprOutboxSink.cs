using System.Text.Json;
using System.Text.Json.Serialization;
using Dapr;
using Dapr.Client;

namespace DaprLlm.Outbox;

/// <summary>
/// Publishes stored CloudEvents through the Dapr sidecar as <c>application/cloudevents+json</c>, so the sidecar keeps
/// the envelope (the id fixed at enqueue, source, type, time, traceparent) and only adds topic and pubsubname: a
/// redelivery after a crash carries the same id and a subscriber that de-duplicates by id stores it once.
/// A single event goes as PublishEvent, more as one BulkPublishEvent.
/// </summary>
public sealed class DaprOutboxSink(DaprClient dapr, string pubsubName) : IOutboxSink
{
    private const string CloudEventContentType = "application/cloudevents+json";
    private static readonly IReadOnlyList<OutboxMessage> None = [];

    public async Task<IReadOnlyList<OutboxMessage>> PublishAsync(string topic, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 1)
        {
            await dapr.PublishByteEventAsync(pubsubName, topic, messages[0].CloudEvent, CloudEventContentType, cancellationToken: cancellationToken);
            return None;
        }

        // The SDK marks a bulk entry cloudevents+json only when it is a Dapr.CloudEvent; StoredCloudEvent is one that
        // serializes as the stored bytes.
        var entries = new List<StoredCloudEvent>(messages.Count);
        foreach (var message in messages)
        {
            entries.Add(new StoredCloudEvent(message));
        }

        var response = await dapr.BulkPublishEventAsync(pubsubName, topic, entries, cancellationToken: cancellationToken);
        return response.FailedEntries.Count == 0 ? None : response.FailedEntries.Select(f => f.Entry.EventData.Message).ToList();
    }

    /// <summary>A stored envelope handed to the SDK's bulk publish: written as its bytes, unchanged.</summary>
    [JsonConverter(typeof(Converter))]
    public sealed class StoredCloudEvent(OutboxMessage message) : CloudEvent
    {
        public OutboxMessage Message { get; } = message;

        private sealed class Converter : JsonConverter<StoredCloudEvent>
        {
            public override StoredCloudEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
                throw new NotSupportedException("stored CloudEvents are only written");

            public override void Write(Utf8JsonWriter writer, StoredCloudEvent value, JsonSerializerOptions options) =>
                writer.WriteRawValue(value.Message.CloudEvent, skipInputValidation: true);
        }
    }
}
