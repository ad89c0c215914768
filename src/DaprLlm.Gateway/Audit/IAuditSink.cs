using Dapr.Client;
using DaprLlm.Contracts;

namespace DaprLlm.Gateway.Audit;

/// <summary>Where audit events go: one call per topic and batch. Tests put a recorder here to see the batching.</summary>
public interface IAuditSink
{
    /// <summary>Publishes <paramref name="events"/> to <paramref name="topic"/>; returns the events the broker refused.</summary>
    Task<IReadOnlyList<(object Event, string Error)>> PublishAsync(string topic, IReadOnlyList<object> events, CancellationToken ct);
}

/// <summary>Dapr pub/sub through the sidecar: a single event as PublishEvent, more as one BulkPublishEvent.</summary>
public sealed class DaprAuditSink(DaprClient dapr) : IAuditSink
{
    private static readonly IReadOnlyList<(object, string)> None = [];

    public async Task<IReadOnlyList<(object Event, string Error)>> PublishAsync(string topic, IReadOnlyList<object> events, CancellationToken ct)
    {
        if (events.Count == 1)
        {
            // object: System.Text.Json writes the runtime type, so each record keeps all its fields.
            await dapr.PublishEventAsync(DaprComponents.PubSub, topic, events[0], ct);
            return None;
        }

        var response = await dapr.BulkPublishEventAsync(DaprComponents.PubSub, topic, events, cancellationToken: ct);
        return response.FailedEntries.Count == 0 ? None : response.FailedEntries.Select(f => ((object)f.Entry.EventData, f.ErrorMessage)).ToList();
    }
}
