using DaprLlm.Audit.Admin;
using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Alerts;

/// <summary>Alert history and acknowledge (admin or compliance role).</summary>
public static class AlertsApi
{
    public static WebApplication MapAlertsApi(this WebApplication app)
    {
        app.MapGet("/admin/alerts", (HttpRequest request, AuditRuntime runtime, AlertService alerts) =>
            Authorize(request, runtime) is { } error ? error : TypedResults.Ok(alerts.History()));
        app.MapPost("/admin/alerts/{id}/ack", (string id, HttpRequest request, AuditRuntime runtime, AlertService alerts) =>
        {
            if (Authorize(request, runtime) is { } error)
            {
                return error;
            }

            var acked = alerts.Acknowledge(id, AdminAuth.Identify(request, runtime.Options)!.Name);
            return acked is null ? AdminAuth.Error(404, "alert_not_found", $"no alert '{id}'") : TypedResults.Ok(acked);
        });
        return app;
    }

    private static IResult? Authorize(HttpRequest request, AuditRuntime runtime)
    {
        var caller = AdminAuth.Identify(request, runtime.Options);
        return caller is null ? AdminAuth.Error(401, "invalid_admin_key", $"a valid {AdminAuth.Header} header is required")
            : !caller.Can(AdminCaller.ComplianceRole) ? AdminAuth.Error(403, "missing_role", "this key lacks the 'compliance' role")
            : null;
    }
}
