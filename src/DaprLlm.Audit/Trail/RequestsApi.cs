using DaprLlm.Audit.Privacy;
using DaprLlm.Contracts;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// The stored (PII-masked, pseudonymized) record of one request, by request id, from whichever regional store
/// holds it, its sealed text opened while the subject's key exists. Serves the other apps through service invocation;
/// originals are never returned here.
/// </summary>
public static class RequestsApi
{
    public static WebApplication MapRequestsApi(this WebApplication app)
    {
        app.MapGet("/" + ServiceMethods.AuditRequestPrefix + "{requestId}", GetRequestAsync);
        return app;
    }

    private static async Task<IResult> GetRequestAsync(string requestId, AuditRuntime runtime, CancellationToken cancellationToken)
    {
        if (!runtime.IsReady)
        {
            return TypedResults.Json(new { error = new { message = "the audit trail is starting", type = "unavailable", code = "not_ready" } }, statusCode: 503);
        }

        foreach (var writer in runtime.Writers.Values)
        {
            var records = await writer.Store.ReadByRefIdAsync(requestId, cancellationToken);
            if (records.FirstOrDefault(r => r.Entry.EventType == Topics.RequestCompleted) is { } record)
            {
                // The subject's text is sealed at rest: open it while their key exists, else it reads as erased.
                var key = record.Entry.Subject is { } subject ? await writer.Store.GetSubjectKeyAsync(record.Entry.TenantId, subject, cancellationToken) : null;
                return TypedResults.Text(SealedContent.Open(record.Entry, key).Json, "application/json");
            }
        }

        return Admin.AdminAuth.Error(404, "request_not_found", $"no completed request '{requestId}' is in the audit trail (yet: events arrive within seconds)");
    }
}
