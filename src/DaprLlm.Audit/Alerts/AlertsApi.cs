using DaprLlm.Audit.Admin;
using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Alerts;

/// <summary>
/// Alert history and acknowledge (admin or compliance role). An acknowledgement is saved before it is answered.
/// Residency, as in the admin API: a caller sees and acknowledges only alerts whose regions its key all holds (an
/// alert fed by several regions' records needs a key holding each of them).
/// </summary>
public static class AlertsApi
{
    public static WebApplication MapAlertsApi(this WebApplication app)
    {
        app.MapGet("/admin/alerts", List);
        app.MapPost("/admin/alerts/{id}/ack", AcknowledgeAsync);
        return app;
    }

    private static IResult List(HttpRequest request, bool? unacknowledged, AuditRuntime runtime, AlertService alerts)
    {
        if (Authorize(request, runtime, out var caller) is { } error)
        {
            return error;
        }

        var visible = Visible(caller!, runtime);
        return TypedResults.Ok(alerts.History().Where(a => visible(a) && (unacknowledged != true || a.AcknowledgedAt is null)).ToList());
    }

    private static async Task<IResult> AcknowledgeAsync(string id, HttpRequest request, AuditRuntime runtime, AlertService alerts, AlertHistoryStore history, CancellationToken cancellationToken)
    {
        if (Authorize(request, runtime, out var caller) is { } error)
        {
            return error;
        }

        if (!alerts.Restored)
        {
            return AdminAuth.Error(503, "not_ready", "the alert history is still being read; try again");
        }

        // An alert of a region the key does not hold is answered as absent: the list does not show it either.
        var acked = alerts.Acknowledge(id, caller!.Name, Visible(caller, runtime));
        if (acked is null)
        {
            return AdminAuth.Error(404, "alert_not_found", $"no alert '{id}'");
        }

        try
        {
            await alerts.SaveAsync(history, cancellationToken);
        }
        catch (Exception e) when (e is Dapr.DaprException or Grpc.Core.RpcException or HttpRequestException)
        {
            // Acknowledged in memory; saved by the next tick. Said so, since a restart before then would lose it.
            return AdminAuth.Error(503, "not_saved", "acknowledged, but the history could not be saved yet; acknowledge again");
        }

        return TypedResults.Ok(acked);
    }

    private static Func<Alert, bool> Visible(AdminCaller caller, AuditRuntime runtime) => a => a.IsVisibleTo(caller.Regions, runtime.Options.Regions);

    private static IResult? Authorize(HttpRequest request, AuditRuntime runtime, out AdminCaller? caller)
    {
        caller = AdminAuth.Identify(request, runtime.Options);
        return caller is null ? AdminAuth.Error(401, "invalid_admin_key", $"a valid {AdminAuth.Header} header is required")
            : !caller.Can(AdminCaller.ComplianceRole) ? AdminAuth.Error(403, "missing_role", "this key lacks the 'compliance' role")
            : null;
    }
}
