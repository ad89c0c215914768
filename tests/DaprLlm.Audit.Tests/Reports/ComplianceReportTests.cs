using DaprLlm.Audit.Reports;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;

namespace DaprLlm.Audit.Tests.Reports;

/// <summary>A known event set of every audited topic through the real trail (SQLite, masking), then the report's figures.</summary>
public sealed class ComplianceReportTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<TrailRig> KnownSetAsync()
    {
        var rig = await TrailRig.StartAsync(o => o.Tenants["us-t"] = new Configuration.TenantPolicy { Region = "us" });
        var start = rig.Time.GetUtcNow();
        // Six requests of "acme" (eu): four answered, one refused for hate, one filtered for violence; one of "us-t" (us).
        for (var i = 0; i < 7; i++)
        {
            var tenant = i == 6 ? "us-t" : "acme";
            var outcome = i switch { 4 => "refused_input", 5 => "filtered_output", _ => "completed" };
            await rig.IngestAsync(Topics.RequestReceived, new { requestId = $"r{i}", tenantId = tenant, keyId = "key-a", model = "demo", region = "eu" });
            if (i is 4 or 5)
            {
                await rig.IngestAsync(Topics.ModerationDecided, new
                {
                    requestId = $"r{i}", tenantId = tenant, direction = i == 4 ? "input" : "output", action = "block",
                    categories = new Dictionary<string, double> { [i == 4 ? "hate" : "violence"] = 0.9, ["harassment"] = 0.1 },
                    ruleHits = i == 4 ? new[] { "deny-term:slur", "injection:ignore-previous" } : new[] { "deny-term:slur" }, policyVersion = "p1",
                });
            }
            else
            {
                await rig.IngestAsync(Topics.ModerationDecided, new { requestId = $"r{i}", tenantId = tenant, direction = "input", action = "allow", ruleHits = Array.Empty<string>() });
            }

            rig.Time.Advance(TimeSpan.FromMilliseconds(100 * (i + 1)));
            await rig.IngestAsync(Topics.RequestCompleted, new
            {
                requestId = $"r{i}", tenantId = tenant, keyId = i == 6 ? "key-us" : "key-a", model = "demo", outcome,
                promptTokens = 10, completionTokens = 5, userId = $"user-{i}",
            });
        }

        // Two reviews: one decided within its SLA, one decided late after escalation; a third still open past its deadline.
        var t = rig.Time.GetUtcNow();
        await rig.IngestAsync(Topics.ReviewCreated, new { reviewId = "rv1", tenantId = "acme", requestId = "r4", queue = "standard", createdAt = t, slaDeadline = t.AddMinutes(10) });
        await rig.IngestAsync(Topics.ReviewDecided, new { reviewId = "rv1", tenantId = "acme", requestId = "r4", status = "blocked", decidedAt = t.AddMinutes(4) });
        await rig.IngestAsync(Topics.ReviewCreated, new { reviewId = "rv2", tenantId = "acme", requestId = "r1", category = "self-harm", queue = "standard", createdAt = t, slaDeadline = t.AddMinutes(10) });
        await rig.IngestAsync(Topics.ReviewCreated, new { reviewId = "rv2", tenantId = "acme", requestId = "r1", queue = "senior", createdAt = t.AddMinutes(10), slaDeadline = t.AddMinutes(20) });
        await rig.IngestAsync(Topics.ReviewDecided, new { reviewId = "rv2", tenantId = "acme", requestId = "r1", status = "allowed", decidedAt = t.AddMinutes(25) });
        await rig.IngestAsync(Topics.ReviewCreated, new { reviewId = "rv3", tenantId = "acme", requestId = "r2", queue = "standard", createdAt = t, slaDeadline = t.AddMinutes(1) });
        await rig.IngestAsync(Topics.AdminAction, new { tenantId = "acme", action = "key.created", keyId = "key-b" });
        await rig.IngestAsync(Topics.AdminAction, new { tenantId = "acme", action = "policy.updated" });
        _ = start;
        return rig;
    }

    private static async Task<ComplianceReport> ReportAsync(TrailRig rig, params string[] regions)
    {
        rig.Time.Advance(TimeSpan.FromHours(1));
        var now = rig.Time.GetUtcNow();
        return await ComplianceReportBuilder.BuildAsync(regions.Select(r => rig.Writer(r).Store), now.AddDays(-1), now, null, Ct);
    }

    [Fact]
    public async Task A_number_beyond_double_s_range_in_an_event_is_ignored_so_the_report_still_serializes()
    {
        await using var rig = await TrailRig.StartAsync();
        await rig.IngestAsync(Topics.RequestCompleted, System.Text.Json.Nodes.JsonNode.Parse(
            """{"requestId":"huge","tenantId":"acme","model":"demo","outcome":"completed","latencyMs":1e400,"promptTokens":3,"completionTokens":2}""")!);
        await rig.IngestAsync(Topics.RequestCompleted, new { requestId = "fine", tenantId = "acme", model = "demo", outcome = "completed", latencyMs = 42.0 });

        var report = await ReportAsync(rig, "eu");

        Assert.Equal(2, report.Requests);
        Assert.Equal(1, report.Safety.LatencySamples);
        var json = System.Text.Json.JsonSerializer.Serialize(report);
        Assert.Contains("\"LatencyP50Ms\":42", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Review_sla_compliance_counts_open_items_past_their_deadline_as_breaches_and_is_empty_when_none_was_due()
    {
        await using var rig = await TrailRig.StartAsync();
        var quiet = await ReportAsync(rig, "eu");
        var t = rig.Time.GetUtcNow();
        foreach (var id in new[] { "rv-a", "rv-b" })
        {
            await rig.IngestAsync(Topics.ReviewCreated, new ReviewCreatedV1(id, "acme", "req-" + id, "input", "high", "standard", 1, t.AddMinutes(5), "p1", t));
        }

        var overdue = await ReportAsync(rig, "eu");

        // Before, nothing decided read as 100 % compliance however many items were overdue.
        Assert.Equal(new ReviewSla(0, 0, 0, 0, 2, null, null), overdue.ReviewSla);
        Assert.Contains("review_sla_compliance,,0\n", ReportFormats.ToCsv(overdue), StringComparison.Ordinal);
        Assert.Null(quiet.ReviewSla.Compliance);
        Assert.Contains("\"Compliance\":null", System.Text.Json.JsonSerializer.Serialize(quiet), StringComparison.Ordinal);
        Assert.Contains("review_sla_compliance,,\n", ReportFormats.ToCsv(quiet), StringComparison.Ordinal);
        Assert.Contains("<td>review sla compliance</td><td>n/a</td>", ReportFormats.ToHtml(quiet), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hourly_rows_use_the_recorded_time_that_selects_the_period_so_late_and_timeless_events_stay_inside_it()
    {
        await using var rig = await TrailRig.StartAsync();
        var from = rig.Time.GetUtcNow();
        rig.Time.Advance(TimeSpan.FromMinutes(10));
        // Delivered late: it happened two hours before audit recorded it.
        var happened = from.AddHours(-2);
        await rig.IngestAsync(Topics.RequestCompleted,
            new RequestCompletedV1("late", "demo", RequestCompletedV1.Outcomes.Completed, "stop", 1, 1, "allow", "allow", null, happened, "acme"), time: happened);

        var report = await ComplianceReportBuilder.BuildAsync([rig.Writer("eu").Store], from, from.AddHours(1), null, Ct);

        Assert.Equal(1, report.Requests);
        // Before, its row was the hour it happened (22:00 the day before), outside the period the report covers.
        Assert.Equal(from, Assert.Single(report.Hourly).Hour);

        // An event sent without a time (stored with time 0) is in the hour it was recorded, not in 1970.
        var timeless = new AuditRecord(1,
            new AuditEntry("e-timeless", Topics.RequestCompleted, "gateway", "acme", "eu", null, 0, """{"outcome":"completed","requestId":"x"}""", null),
            from.AddMinutes(30).ToUnixTimeMilliseconds(), ChainHead.GenesisHash, ChainHead.GenesisHash);
        Assert.Equal(from, Assert.Single(ComplianceReportBuilder.Aggregate(["eu"], from, from.AddHours(1), [timeless]).Hourly).Hour);
    }

    [Fact]
    public async Task Counts_requests_refusals_and_reviews_by_category_tenant_and_region()
    {
        await using var rig = await KnownSetAsync();
        var report = await ReportAsync(rig, "eu", "us");

        Assert.Equal(7, report.Requests);
        Assert.Equal(7, report.RequestsReceived);
        Assert.Equal(1, report.RefusedInput);
        Assert.Equal(1, report.FilteredOutput);
        Assert.Equal(2.0 / 7, report.BlockRate, 6);
        Assert.Equal(6, report.RequestsByTenant["acme"]);
        Assert.Equal(1, report.RequestsByRegion["us"]);
        // The refusal's category comes from the moderation decision of the same request.
        Assert.Equal(1, report.RefusalsByCategory["hate"]);
        Assert.Equal(1, report.RefusalsByCategory["violence"]);
        Assert.Equal(2, report.RefusalsByTenant["acme"]);
        Assert.Equal(2, report.RefusalsByRegion["eu"]);
        Assert.Equal(3, report.ReviewsCreated); // the escalation is the same item
        Assert.Equal(2, report.ReviewsDecided);
        Assert.Equal(3.0 / 7, report.ReviewRate, 6);
        Assert.Equal(1, report.ReviewsByCategory["hate"]);
        Assert.Equal(1, report.ReviewsByCategory["self-harm"]);
        Assert.Equal(1, report.ReviewsByCategory["uncategorized"]);
        Assert.Equal(3, report.ReviewsByTenant["acme"]);
        Assert.Equal(2, report.ModerationByAction["block"]);
        Assert.Equal(5, report.ModerationByAction["allow"]);
    }

    [Fact]
    public async Task Classification_calls_through_the_moderations_api_are_counted_apart_from_the_guardrail_figures()
    {
        await using var rig = await KnownSetAsync();
        // A tenant screening its users' posts: two flagged, one allowed. "r4" (the refused request's id) shows an api
        // check's category never stands in for a refusal's.
        foreach (var (requestId, action) in new[] { ("r4", "block"), ("modr-1-1", "review"), ("modr-1-2", "allow") })
        {
            await rig.IngestAsync(Topics.ModerationDecided, new ModerationDecidedV1(requestId, "acme", null, "input", action, "sexual/minors",
                new Dictionary<string, double> { ["sexual/minors"] = 0.95 }, ["deny-term:api-only"], [], "p1", 1.5, null, false, rig.Time.GetUtcNow(),
                ModerationDecidedV1.ApiStage));
        }

        var report = await ReportAsync(rig, "eu", "us");

        Assert.Equal(new SortedDictionary<string, long> { ["allow"] = 1, ["block"] = 1, ["review"] = 1 }, report.ModerationApiByAction);
        // The guardrail figures are those of the known set alone.
        Assert.Equal(2, report.ModerationByAction["block"]);
        Assert.Equal(5, report.ModerationByAction["allow"]);
        Assert.False(report.ModerationByAction.ContainsKey("review"));
        Assert.False(report.ByCategory.ContainsKey("sexual/minors"));
        Assert.DoesNotContain(report.TopRuleHits, r => r.Rule == "deny-term:api-only");
        Assert.Equal(1, report.RefusalsByCategory["hate"]);
        Assert.False(report.RefusalsByCategory.ContainsKey("sexual/minors"));
        // They stay in the trail's counts, and the report's files list them.
        Assert.Equal(10, report.ByEventType[Topics.ModerationDecided]);
        Assert.Contains("moderation_api_by_action", ReportFormats.ToCsv(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reports_review_sla_rule_hits_admin_actions_key_usage_and_incidents_beside_latency()
    {
        await using var rig = await KnownSetAsync();
        var report = await ReportAsync(rig, "eu", "us");

        // rv1 in time, rv2 late, rv3 still open past its deadline: one of three due items met its SLA.
        Assert.Equal(new ReviewSla(2, 1, 1, 1.0 / 3, 1, 4, 25), report.ReviewSla);
        Assert.Equal([new RuleHitCount("deny-term:slur", 2), new RuleHitCount("injection:ignore-previous", 1)], report.TopRuleHits);
        Assert.Equal(2, report.AdminActions);
        Assert.Equal(1, report.AdminActionsByAction["key.created"]);
        Assert.Equal(1, report.AdminActionsByAction["policy.updated"]);
        var keyA = Assert.Single(report.KeyUsage, k => k.KeyId == "key-a");
        Assert.Equal(new KeyUsage("key-a", "acme", 6, 60, 30), keyA);
        Assert.Equal(new KeyUsage("key-us", "us-t", 1, 10, 5), Assert.Single(report.KeyUsage, k => k.KeyId == "key-us"));

        // Latency is request.received → request.completed: 100, 200, ... 700 ms on the fake clock.
        Assert.Equal(2, report.Safety.Incidents);
        Assert.Equal(2.0 / 7, report.Safety.IncidentRate, 6);
        Assert.Equal(7, report.Safety.LatencySamples);
        Assert.Equal(400, report.Safety.LatencyP50Ms);
        Assert.Equal(700, report.Safety.LatencyP99Ms);
        var hour = Assert.Single(report.Hourly);
        Assert.Equal(7, hour.Requests);
        Assert.Equal(2, hour.Incidents);
        Assert.Equal(700, hour.LatencyP95Ms);
    }

    [Fact]
    public async Task A_region_report_counts_only_that_region_and_the_formats_carry_the_new_figures()
    {
        await using var rig = await KnownSetAsync();
        var us = await ReportAsync(rig, "us");
        Assert.Equal(["us"], us.Regions);
        Assert.Equal(1, us.Requests);
        Assert.Equal(0, us.ReviewsCreated);

        var eu = await ReportAsync(rig, "eu");
        var csv = ReportFormats.ToCsv(eu);
        Assert.Contains("review_sla_compliance,,0.3333\n", csv, StringComparison.Ordinal);
        Assert.Contains("refusals_by_category,hate,1", csv, StringComparison.Ordinal);
        Assert.Contains("rule_hits,deny-term:slur,2", csv, StringComparison.Ordinal);

        // Keys come from event data: one a spreadsheet would run as a formula is written as text.
        var hostile = ReportFormats.ToCsv(eu with
        {
            AdminActionsByAction = new SortedDictionary<string, long>(StringComparer.Ordinal) { ["=HYPERLINK(\"http://x\",\"x\")"] = 1, ["@SUM(A1)"] = 1, ["a\rb"] = 1 },
        });
        Assert.Contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"x\"\")\",1", hostile, StringComparison.Ordinal);
        Assert.Contains(",'@SUM(A1),1", hostile, StringComparison.Ordinal);
        Assert.Contains(",\"a\rb\",1", hostile, StringComparison.Ordinal);
        Assert.Contains("key_requests,acme/key-a,6", csv, StringComparison.Ordinal);
        var html = ReportFormats.ToHtml(eu);
        Assert.Contains("Safety incidents beside latency", html, StringComparison.Ordinal);
        Assert.Contains("key-a", html, StringComparison.Ordinal);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
    }
}
