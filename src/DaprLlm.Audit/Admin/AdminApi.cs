using Dapr;
using Dapr.Client;
using DaprLlm.Audit.Privacy;
using DaprLlm.Audit.Reports;
using DaprLlm.Audit.Retention;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;

namespace DaprLlm.Audit.Admin;

/// <summary>
/// The admin API the CLI drives (header <c>X-Admin-Key</c>): verify, subject export and erasure, retention, reports.
/// Residency: a caller reaches only the regions its key lists, and a request naming several regions needs them all.
/// </summary>
public static class AdminApi
{
    public sealed record EraseRequest(string? TenantId, string? UserId, string? Region);

    public static WebApplication MapAdminApi(this WebApplication app)
    {
        var admin = app.MapGroup("/admin");
        admin.MapGet("/verify", VerifyAsync);
        admin.MapPost("/checkpoint", CheckpointAsync);
        admin.MapGet("/subjects/export", ExportAsync);
        admin.MapPost("/subjects/erase", EraseAsync);
        admin.MapPost("/retention/run", RunRetentionAsync);
        admin.MapGet("/reports", ReportAsync);
        return app;
    }

    private static async Task<IResult> VerifyAsync(HttpRequest request, string? region, AuditRuntime runtime, RetentionJob retention, CancellationToken cancellationToken)
    {
        if (!TryAuthorize(request, runtime, AdminCaller.AdminRole, region, out var writers, out var error))
        {
            return error!;
        }

        var reports = new List<VerifyReport>();
        foreach (var writer in writers)
        {
            var archive = retention.ArchiveFor(writer.Store.Region);
            var report = await retention.ExclusiveAsync(writer.Store.Region,
                () => runtime.Verifier().VerifyAsync(writer.Store, archive.CheckAsync, cancellationToken), cancellationToken);
            reports.Add(report);
        }

        return TypedResults.Ok(new { ok = reports.All(r => r.Ok), regions = reports });
    }

    private static async Task<IResult> CheckpointAsync(HttpRequest request, string? region, AuditRuntime runtime, CancellationToken cancellationToken)
    {
        if (!TryAuthorize(request, runtime, AdminCaller.AdminRole, region, out var writers, out var error))
        {
            return error!;
        }

        var signed = new List<Checkpoint>();
        foreach (var writer in writers)
        {
            if (await writer.CheckpointNowAsync(cancellationToken) is { } checkpoint)
            {
                signed.Add(checkpoint);
            }
        }

        return TypedResults.Ok(new { checkpoints = signed });
    }

    private static async Task<IResult> ExportAsync(HttpRequest request, string? tenantId, string? userId, string? region, AuditRuntime runtime, SubjectService subjects, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(tenantId) || string.IsNullOrWhiteSpace(userId))
        {
            return AdminAuth.Error(400, "missing_subject", "tenantId and userId are required");
        }

        if (!TryAuthorize(request, runtime, AdminCaller.AdminRole, TenantRegion(runtime, tenantId, region), out var writers, out var error))
        {
            return error!;
        }

        if (writers.Count != 1)
        {
            return AdminAuth.Error(400, "region_required", "name the tenant's region (region=...)");
        }

        return TypedResults.Ok(await subjects.ExportAsync(writers[0], tenantId, userId, cancellationToken));
    }

    private static async Task<IResult> EraseAsync(HttpRequest request, EraseRequest? body, AuditRuntime runtime, SubjectService subjects, DaprClient dapr, ILogger<SubjectService> logger, CancellationToken cancellationToken)
    {
        if (body is null || string.IsNullOrWhiteSpace(body.TenantId) || string.IsNullOrWhiteSpace(body.UserId))
        {
            return AdminAuth.Error(400, "missing_subject", "tenantId and userId are required");
        }

        // A tenant with a home region, or a region named in the request, is erased there; otherwise wherever the
        // subject has data (a tenant allowed in several regions has records in each).
        var pinned = TenantRegion(runtime, body.TenantId, body.Region);
        if (!TryAuthorize(request, runtime, AdminCaller.AdminRole, pinned, out var writers, out var error))
        {
            return error!;
        }

        var found = new List<ChainWriter>();
        foreach (var writer in pinned is null ? runtime.Writers.Values.OrderBy(w => w.Store.Region, StringComparer.Ordinal) : writers.AsEnumerable())
        {
            if (await subjects.IsKnownAsync(writer.Store, body.TenantId, body.UserId, cancellationToken))
            {
                found.Add(writer);
            }
        }

        var where = string.Join(", ", (pinned is null ? runtime.Writers.Keys : writers.Select(w => w.Store.Region)).Order(StringComparer.Ordinal));
        if (found.Count == 0)
        {
            // Most likely a mistyped id: say so rather than record the erasure of nobody.
            return AdminAuth.Error(404, "subject_not_found", $"no key or record of user '{body.UserId}' of tenant '{body.TenantId}' in {where}");
        }

        var unreachable = found.Where(w => !writers.Contains(w)).Select(w => w.Store.Region).ToList();
        if (unreachable.Count > 0)
        {
            // Erasing only part would look complete; nothing is erased until a key holding every region asks.
            return AdminAuth.Error(403, "region_forbidden", $"the subject also has data in {string.Join(", ", unreachable)}, which this key does not hold: erase with a key holding every region, or name one region");
        }

        var caller = AdminAuth.Identify(request, runtime.Options)!;
        var results = new List<object>();
        var allPublished = true;
        var anyKeyDestroyed = false;
        string? subject = null;
        foreach (var writer in found)
        {
            var result = await subjects.EraseAsync(writer, body.TenantId, body.UserId, caller.Name, cancellationToken);
            subject = result.Subject;
            anyKeyDestroyed |= result.KeyDestroyed;
            // Caches and the review queue purge on this event; publishing after the key is gone makes erasure final first.
            var published = true;
            try
            {
                await dapr.PublishEventAsync(DaprComponents.PubSub, Topics.SubjectErased,
                    new SubjectErasedV1(body.TenantId, body.UserId, result.Subject, result.Region, DateTimeOffset.FromUnixTimeMilliseconds(result.ErasedAtMs), caller.Name, result.RequestIds), cancellationToken);
            }
            catch (DaprException e)
            {
                // The erasure itself is done and recorded; the caller sees that the purge notice must be re-sent (erase again).
                published = false;
                logger.LogError("Erasure of {Subject} in {Region} is done but subject.erased could not be published: {Error}", result.Subject, result.Region, e.GetType().Name);
            }

            allPublished &= published;
            results.Add(new { result.Region, result.KeyDestroyed, result.ErasureEventId, result.ErasedAtMs, subjectErasedPublished = published });
        }

        return TypedResults.Ok(new
        {
            tenantId = body.TenantId,
            subject,
            region = string.Join(",", found.Select(w => w.Store.Region)),
            keyDestroyed = anyKeyDestroyed,
            subjectErasedPublished = allPublished,
            regions = results,
        });
    }

    private static async Task<IResult> RunRetentionAsync(HttpRequest request, string? region, AuditRuntime runtime, RetentionJob retention, CancellationToken cancellationToken)
    {
        if (!TryAuthorize(request, runtime, AdminCaller.AdminRole, region, out var writers, out var error))
        {
            return error!;
        }

        var results = new List<RetentionResult>();
        foreach (var writer in writers)
        {
            results.Add(await retention.RunAsync(writer, cancellationToken));
        }

        return TypedResults.Ok(new { regions = results });
    }

    private static async Task<IResult> ReportAsync(HttpRequest request, string? regions, string? format, string? tenantId, DateTimeOffset? from, DateTimeOffset? to, AuditRuntime runtime, CancellationToken cancellationToken)
    {
        if (!TryAuthorize(request, runtime, AdminCaller.ComplianceRole, regions, out var writers, out var error))
        {
            return error!;
        }

        if (format is not (null or "" or "json" or "csv" or "html"))
        {
            return AdminAuth.Error(400, "bad_format", "format must be json, csv or html");
        }

        var now = runtime.Time.GetUtcNow();
        var (start, end) = (from ?? now.AddDays(-30), to ?? now.AddSeconds(1));
        if (start >= end)
        {
            return AdminAuth.Error(400, "bad_range", $"from ({start:O}) must be before to ({end:O})");
        }

        var report = await ComplianceReportBuilder.BuildAsync(writers.Select(w => w.Store), start, end, tenantId, cancellationToken);
        return format switch
        {
            "csv" => TypedResults.Text(ReportFormats.ToCsv(report), "text/csv"),
            "html" => TypedResults.Text(ReportFormats.ToHtml(report), "text/html"),
            _ => TypedResults.Ok(report),
        };
    }

    private static string? TenantRegion(AuditRuntime runtime, string tenantId, string? region) =>
        runtime.Options.Tenants.TryGetValue(tenantId, out var policy) && policy.Region is not null ? policy.Region : region;

    /// <summary>
    /// Resolves the caller and the regional writers a request may touch. <paramref name="regions"/> is a comma list;
    /// when absent, every region the caller holds. A region the caller does not hold is refused, never silently dropped.
    /// </summary>
    /// <summary>The caller's key, role and regions checked; on success the stores of the regions asked for (default: all the key holds).</summary>
    internal static bool TryAuthorize(HttpRequest request, AuditRuntime runtime, string role, string? regions, out List<ChainWriter> writers, out IResult? error)
    {
        writers = [];
        error = null;
        if (!runtime.IsReady)
        {
            error = AdminAuth.Error(503, "not_ready", "the audit trail is starting");
            return false;
        }

        var caller = AdminAuth.Identify(request, runtime.Options);
        if (caller is null)
        {
            error = AdminAuth.Error(401, "invalid_admin_key", $"a valid {AdminAuth.Header} header is required");
            return false;
        }

        if (!caller.Can(role))
        {
            error = AdminAuth.Error(403, "missing_role", $"this key lacks the '{role}' role");
            return false;
        }

        var wanted = string.IsNullOrWhiteSpace(regions)
            ? caller.Regions.Where(runtime.Writers.ContainsKey).Order(StringComparer.Ordinal).ToList()
            : regions.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        foreach (var region in wanted)
        {
            if (!runtime.Writers.TryGetValue(region, out var writer))
            {
                error = AdminAuth.Error(400, "unknown_region", $"region '{region}' is not kept here");
                return false;
            }

            if (!caller.Regions.Contains(region))
            {
                error = AdminAuth.Error(403, "region_forbidden", $"this key may not read region '{region}'");
                return false;
            }

            writers.Add(writer);
        }

        if (writers.Count == 0)
        {
            error = AdminAuth.Error(403, "region_forbidden", "this key holds no region");
            return false;
        }

        return true;
    }
}
