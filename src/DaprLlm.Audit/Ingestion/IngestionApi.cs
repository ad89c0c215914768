using System.Text.Json;
using Dapr;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts;
using Microsoft.Extensions.Options;

namespace DaprLlm.Audit.Ingestion;

/// <summary>
/// Pub/sub delivery endpoints, one per audited topic. Any event type is stored. The answer is SUCCESS only once the
/// record is committed (or was already there: redelivery is idempotent by CloudEvent id); RETRY otherwise, so the
/// sidecar redelivers; DROP only for bodies that can never be stored (no id, not JSON).
/// </summary>
public static partial class IngestionApi
{
    public static WebApplication MapIngestionApi(this WebApplication app)
    {
        foreach (var topic in app.Services.GetRequiredService<IOptions<AuditOptions>>().Value.Topics)
        {
            app.MapPost($"/events/{topic}", (HttpRequest request, AuditRuntime runtime, Alerts.AlertService alerts, ILoggerFactory logs, CancellationToken ct) =>
                    IngestAsync(topic, request, runtime, alerts, logs.CreateLogger("DaprLlm.Audit.Ingestion"), ct))
                .WithTopic(DaprComponents.PubSub, topic);
        }

        return app;
    }

    private static async Task<IResult> IngestAsync(string topic, HttpRequest request, AuditRuntime runtime, Alerts.AlertService alerts, ILogger logger, CancellationToken cancellationToken)
    {
        if (!runtime.IsReady)
        {
            return Retry();
        }

        CloudEventEnvelope? envelope;
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
            if (!CloudEventEnvelope.TryParse(document.RootElement, topic, out envelope, out var error))
            {
                LogDropped(logger, topic, error!);
                return TypedResults.Ok(new { status = "DROP" });
            }
        }
        catch (JsonException)
        {
            LogDropped(logger, topic, "the body is not JSON");
            return TypedResults.Ok(new { status = "DROP" });
        }

        try
        {
            var decision = await runtime.Entries.BuildAsync(envelope!, runtime.Store, cancellationToken);
            if (decision.Entry is null)
            {
                // Misrouted or misconfigured: keep it in the broker rather than lose a record.
                LogUnroutable(logger, envelope!.Id, decision.Error!);
                return Retry();
            }

            // The writer records the stored/duplicate counts and the ingest lag at its commit.
            var outcome = await runtime.Writer(decision.Region)!.AppendAsync(decision.Entry, cancellationToken);
            if (outcome == AppendOutcome.Stored)
            {
                // Only first deliveries count: a redelivered event must not look like a spike.
                alerts.Observe(decision.Entry);
            }

            return TypedResults.Ok(new { status = "SUCCESS" });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStoreFailed(logger, envelope!.Id, e.GetType().Name);
            return Retry();
        }
    }

    private static IResult Retry() => TypedResults.Json(new { status = "RETRY" }, statusCode: StatusCodes.Status503ServiceUnavailable);

    [LoggerMessage(LogLevel.Warning, "Dropping an event on {Topic} that can never be stored: {Reason}")]
    private static partial void LogDropped(ILogger logger, string topic, string reason);

    [LoggerMessage(LogLevel.Error, "Event {EventId} cannot be routed: {Reason}; asking for redelivery")]
    private static partial void LogUnroutable(ILogger logger, string eventId, string reason);

    [LoggerMessage(LogLevel.Warning, "Storing event {EventId} failed ({Error}); asking for redelivery")]
    private static partial void LogStoreFailed(ILogger logger, string eventId, string error);
}
