using DaprLlm.Audit.Privacy;
using DaprLlm.Contracts;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// The stored (PII-masked, pseudonymized) record of one request, by request id, from whichever regional store of
/// the caller's regions holds it, its sealed text opened while the subject's key exists; originals are never returned.
/// It opens sealed text, so it needs an admin key (X-Admin-Key, admin role) like the rest of the admin API.
/// </summary>
public static class RequestsApi
{
    public static WebApplication MapRequestsApi(this WebApplication app)
    {
        app.MapGet("/" + ServiceMethods.AuditRequestPrefix + "{requestId}", GetRequestAsync);
        return app;
    }

    private static async Task<IResult> GetRequestAsync(string requestId, HttpRequest request, AuditRuntime runtime, CancellationToken cancellationToken)
    {
        if (!Admin.AdminApi.TryAuthorize(request, runtime, Admin.AdminCaller.AdminRole, regions: null, out var writers, out var error))
        {
            return error!;
        }

        foreach (var writer in writers)
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
