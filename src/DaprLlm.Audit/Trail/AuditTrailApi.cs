using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// Stores request.completed events and serves them by request id. Records live in the Dapr state store
/// keyed by request id, so a redelivered event overwrites the same record instead of duplicating it.
/// (The hash-chained SQLite/PostgreSQL trail of the audit issue replaces this store.)
/// </summary>
public static class AuditTrailApi
{
    private const string KeyPrefix = "audit-request-";

    public static WebApplicationBuilder AddAuditTrail(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapAuditTrailApi(this WebApplication app)
    {
        app.MapPost("/events/request-completed", StoreRequestCompleted).WithTopic(DaprComponents.PubSub, Topics.RequestCompleted);
        app.MapGet("/" + ServiceMethods.AuditRequestPrefix + "{requestId}", GetRequest);
        return app;
    }

    // Answering 2xx only after the state store has the record: the sidecar re-delivers anything not acknowledged.
    private static async Task<IResult> StoreRequestCompleted(RequestCompletedV1 completed, DaprClient dapr, ILogger<RequestCompletedV1> logger, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(completed.RequestId))
        {
            logger.LogWarning("Dropping a request.completed event without a request id");
            return TypedResults.Ok(new { status = "DROP" });
        }

        await dapr.SaveStateAsync(DaprComponents.StateStore, KeyPrefix + completed.RequestId, completed, cancellationToken: cancellationToken);
        return TypedResults.Ok(new { status = "SUCCESS" });
    }

    private static async Task<IResult> GetRequest(string requestId, DaprClient dapr, CancellationToken cancellationToken)
    {
        var record = await dapr.GetStateAsync<RequestCompletedV1?>(DaprComponents.StateStore, KeyPrefix + requestId, cancellationToken: cancellationToken);
        return record is null ? TypedResults.NotFound() : TypedResults.Ok(record);
    }
}
