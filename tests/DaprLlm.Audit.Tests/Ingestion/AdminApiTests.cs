using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Sidecar.Tests.Infrastructure;
using StackExchange.Redis;

namespace DaprLlm.Audit.Tests.Ingestion;

/// <summary>The admin API of the running app (events delivered through the real sidecars): GDPR, residency, reports, auth.</summary>
public sealed class AdminApiTests(AuditSystem system) : IClassFixture<AuditSystem>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<List<string>> PublishAsync(string tenant, string user, int count, string outcome = RequestCompletedV1.Outcomes.Completed, string region = "eu")
    {
        var ids = new List<string>();
        for (var n = 0; n < count; n++)
        {
            var id = $"{tenant}-{Guid.NewGuid():N}";
            await system.Publisher.PublishEventAsync(DaprComponents.PubSub, Topics.RequestCompleted,
                new RequestCompletedV1(id, "daprllm-demo", outcome, "stop", 3, 5, "allow", "allow", null, DateTimeOffset.UtcNow,
                    TenantId: tenant, Region: region, UserId: user, Prompt: $"write to {user}@example.com", Completion: "ok"), Ct);
            ids.Add(id);
        }

        await system.WaitAsync(async () =>
        {
            var stored = (await system.StoredRequestIdsAsync("eu")).Concat(await system.StoredRequestIdsAsync("us")).ToHashSet();
            return ids.All(stored.Contains);
        }, TimeSpan.FromSeconds(60), "the events to be stored");
        return ids;
    }

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpStatusCode expected, string key = AuditSystem.AdminKey, object? body = null)
    {
        using var response = await system.Http.SendAsync(system.Admin(method, path, key, body is null ? null : JsonContent.Create(body)), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Erasing_a_subject_of_a_tenant_without_a_home_region_erases_every_region_that_holds_it_and_an_unknown_subject_is_a_404()
    {
        var tenant = $"roam-{Guid.NewGuid():N}"[..13];
        await PublishAsync(tenant, "roamer", 1, region: "eu");
        await PublishAsync(tenant, "roamer", 1, region: "us");

        // A mistyped id is not "erased": nothing of it exists anywhere, and nothing is recorded.
        var unknown = await SendAsync(HttpMethod.Post, "/admin/subjects/erase", HttpStatusCode.NotFound, body: new { tenantId = tenant, userId = "roamr" });
        Assert.Equal("subject_not_found", unknown.GetProperty("error").GetProperty("code").GetString());
        var typo = await SendAsync(HttpMethod.Get, $"/admin/subjects/export?tenantId={tenant}&userId=roamr&region=eu", HttpStatusCode.OK);
        Assert.Empty(typo.GetProperty("records").EnumerateArray());

        // A key holding only eu would leave the us copy readable: refused, nothing erased.
        var partial = await SendAsync(HttpMethod.Post, "/admin/subjects/erase", HttpStatusCode.Forbidden, AuditSystem.EuOnlyKey, new { tenantId = tenant, userId = "roamer" });
        Assert.Contains("us", partial.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        var untouched = await SendAsync(HttpMethod.Get, $"/admin/subjects/export?tenantId={tenant}&userId=roamer&region=us", HttpStatusCode.OK);
        Assert.DoesNotContain(untouched.GetProperty("records").EnumerateArray(), r => r.GetProperty("eventType").GetString() == "audit.subject.erased");

        var erased = await SendAsync(HttpMethod.Post, "/admin/subjects/erase", HttpStatusCode.OK, body: new { tenantId = tenant, userId = "roamer" });
        Assert.Equal("eu,us", erased.GetProperty("region").GetString());
        Assert.Equal(["eu", "us"], erased.GetProperty("regions").EnumerateArray().Select(r => r.GetProperty("region").GetString()));
        Assert.True(erased.GetProperty("subjectErasedPublished").GetBoolean());
        foreach (var region in new[] { "eu", "us" })
        {
            var export = await SendAsync(HttpMethod.Get, $"/admin/subjects/export?tenantId={tenant}&userId=roamer&region={region}", HttpStatusCode.OK);
            Assert.Contains(export.GetProperty("records").EnumerateArray(), r => r.GetProperty("eventType").GetString() == "audit.subject.erased");
        }

        // Naming a region erases there only, so a key of one region can still act on its own part.
        var again = await SendAsync(HttpMethod.Post, "/admin/subjects/erase", HttpStatusCode.OK, AuditSystem.EuOnlyKey, new { tenantId = tenant, userId = "roamer", region = "eu" });
        Assert.Equal("eu", again.GetProperty("region").GetString());
    }

    [Fact]
    public async Task Erasure_through_the_api_shreds_originals_keeps_the_chain_valid_and_publishes_subject_erased()
    {
        var requestIds = await PublishAsync("eu-corp", "gdpr-user", 3);
        var before = await SendAsync(HttpMethod.Get, "/admin/subjects/export?tenantId=eu-corp&userId=gdpr-user", HttpStatusCode.OK);
        var records = before.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal("write to gdpr-user@example.com", r.GetProperty("original").GetProperty("prompt").GetString()));
        Assert.All(records, r => Assert.Equal("write to <EMAIL_ADDRESS>", r.GetProperty("content").GetProperty("prompt").GetString()));
        Assert.Equal(3, before.GetProperty("manifest").GetProperty("count").GetInt32());

        var erased = await SendAsync(HttpMethod.Post, "/admin/subjects/erase", HttpStatusCode.OK, body: new { tenantId = "eu-corp", userId = "gdpr-user" });
        Assert.True(erased.GetProperty("keyDestroyed").GetBoolean());

        var after = await SendAsync(HttpMethod.Get, "/admin/subjects/export?tenantId=eu-corp&userId=gdpr-user", HttpStatusCode.OK);
        Assert.DoesNotContain("gdpr-user@example.com", after.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(3, after.GetProperty("records").EnumerateArray().Count(r => r.GetProperty("originalState").GetString() == "erased"));
        Assert.Contains(after.GetProperty("records").EnumerateArray(), r => r.GetProperty("eventType").GetString() == "audit.subject.erased");

        var verify = await SendAsync(HttpMethod.Get, "/admin/verify", HttpStatusCode.OK);
        Assert.True(verify.GetProperty("ok").GetBoolean(), verify.GetRawText());

        // subject.erased went out on the bus for the gateway caches and the review queue; the review queue finds the
        // subject's items only by request id, so the event must name every request of the subject.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(system.RedisAddress);
        var entries = await redis.GetDatabase().StreamRangeAsync(Topics.SubjectErased);
        var erasedEvent = entries.SelectMany(e => e.Values).Select(v => v.Value.ToString())
            .Where(v => v.Contains("gdpr-user", StringComparison.Ordinal))
            .Select(v => JsonDocument.Parse(v).RootElement)
            .Select(envelope => envelope.TryGetProperty("data", out var data) ? data : envelope)
            .Single(data => data.TryGetProperty("userId", out var user) && user.GetString() == "gdpr-user");
        Assert.Equal("eu-corp", erasedEvent.GetProperty("tenantId").GetString());
        Assert.Equal(requestIds.Order(StringComparer.Ordinal), erasedEvent.GetProperty("requestIds").EnumerateArray().Select(r => r.GetString()!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Residency_keeps_us_records_out_of_the_eu_store_and_keys_out_of_foreign_regions()
    {
        var usIds = await PublishAsync("us-corp", "us-user", 2, region: "eu");
        Assert.All(usIds, id => Assert.DoesNotContain(id, system.StoredRequestIdsAsync("eu").Result));
        Assert.All(usIds, id => Assert.Contains(id, system.StoredRequestIdsAsync("us").Result));

        await SendAsync(HttpMethod.Get, "/admin/verify?region=us", HttpStatusCode.Forbidden, AuditSystem.EuOnlyKey);
        await SendAsync(HttpMethod.Get, "/admin/subjects/export?tenantId=us-corp&userId=us-user", HttpStatusCode.Forbidden, AuditSystem.EuOnlyKey);
        var eu = await SendAsync(HttpMethod.Get, "/admin/verify", HttpStatusCode.OK, AuditSystem.EuOnlyKey);
        Assert.Equal(["eu"], eu.GetProperty("regions").EnumerateArray().Select(r => r.GetProperty("region").GetString()));
    }

    [Fact]
    public async Task Reports_count_a_known_event_set_in_json_csv_and_html()
    {
        var tenant = "rep-" + Guid.NewGuid().ToString("N")[..8];
        await PublishAsync(tenant, "u1", 4);
        await PublishAsync(tenant, "u2", 2, RequestCompletedV1.Outcomes.RefusedInput);
        await PublishAsync(tenant, "u3", 1, RequestCompletedV1.Outcomes.FilteredOutput);

        var report = await SendAsync(HttpMethod.Get, $"/admin/reports?tenantId={tenant}&regions=eu", HttpStatusCode.OK, AuditSystem.ComplianceKey);
        Assert.Equal(7, report.GetProperty("requests").GetInt64());
        Assert.Equal(2, report.GetProperty("refusedInput").GetInt64());
        Assert.Equal(1, report.GetProperty("filteredOutput").GetInt64());
        Assert.Equal(3.0 / 7, report.GetProperty("blockRate").GetDouble(), 6);
        Assert.Equal(4, report.GetProperty("byOutcome").GetProperty("completed").GetInt64());

        using var csv = await system.Http.SendAsync(system.Admin(HttpMethod.Get, $"/admin/reports?tenantId={tenant}&format=csv", AuditSystem.ComplianceKey), Ct);
        var csvText = await csv.Content.ReadAsStringAsync(Ct);
        Assert.Contains("requests,,7", csvText, StringComparison.Ordinal);
        Assert.Contains("by_outcome,refused_input,2", csvText, StringComparison.Ordinal);

        using var html = await system.Http.SendAsync(system.Admin(HttpMethod.Get, $"/admin/reports?tenantId={tenant}&format=html", AuditSystem.ComplianceKey), Ct);
        var htmlText = await html.Content.ReadAsStringAsync(Ct);
        Assert.Contains("<svg", htmlText, StringComparison.Ordinal);
        Assert.Contains("refused_input", htmlText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_calls_without_the_right_key_or_role_get_json_errors()
    {
        using (var anonymous = await system.Http.GetAsync(system.App.BaseAddress + "/admin/verify", Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            using var error = JsonDocument.Parse(await anonymous.Content.ReadAsStringAsync(Ct));
            Assert.Equal("invalid_admin_key", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        }

        await SendAsync(HttpMethod.Post, "/admin/subjects/erase", HttpStatusCode.Forbidden, AuditSystem.ComplianceKey, new { tenantId = "eu-corp", userId = "x" });
        await SendAsync(HttpMethod.Post, "/admin/subjects/erase", HttpStatusCode.BadRequest, body: new { tenantId = "eu-corp" });
        await SendAsync(HttpMethod.Get, "/admin/reports?format=pdf", HttpStatusCode.BadRequest, AuditSystem.ComplianceKey);
    }

    [Fact]
    public async Task Reports_are_only_for_keys_with_the_compliance_or_admin_role()
    {
        var refused = await SendAsync(HttpMethod.Get, "/admin/reports?regions=eu", HttpStatusCode.Forbidden, AuditSystem.OperatorKey);
        Assert.Equal("missing_role", refused.GetProperty("error").GetProperty("code").GetString());
        using (var csv = await system.Http.SendAsync(system.Admin(HttpMethod.Get, "/admin/reports?regions=eu&format=csv", AuditSystem.OperatorKey), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, csv.StatusCode);
        }

        await SendAsync(HttpMethod.Get, "/admin/reports?regions=eu", HttpStatusCode.OK, AuditSystem.ComplianceKey);
        // A compliance key reads reports, nothing else.
        await SendAsync(HttpMethod.Get, "/admin/verify", HttpStatusCode.Forbidden, AuditSystem.ComplianceKey);
    }

    [Fact]
    public async Task A_report_mixes_regions_only_for_a_key_that_holds_them_all()
    {
        var tenant = "mix-" + Guid.NewGuid().ToString("N")[..8];
        await PublishAsync(tenant, "m1", 2, region: "eu");
        await PublishAsync(tenant, "m2", 3, region: "us");

        var refused = await SendAsync(HttpMethod.Get, $"/admin/reports?tenantId={tenant}&regions=eu,us", HttpStatusCode.Forbidden, AuditSystem.EuOnlyKey);
        Assert.Equal("region_forbidden", refused.GetProperty("error").GetProperty("code").GetString());
        // Without a region list a single-region key gets its own region only.
        var own = await SendAsync(HttpMethod.Get, $"/admin/reports?tenantId={tenant}", HttpStatusCode.OK, AuditSystem.EuOnlyKey);
        Assert.Equal(2, own.GetProperty("requests").GetInt64());
        var both = await SendAsync(HttpMethod.Get, $"/admin/reports?tenantId={tenant}&regions=eu,us", HttpStatusCode.OK, AuditSystem.ComplianceKey);
        Assert.Equal(5, both.GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task Alerts_are_listed_and_acknowledged_only_with_a_key_holding_their_region()
    {
        var euTenant = "al-eu-" + Guid.NewGuid().ToString("N")[..8];
        var usTenant = "al-us-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var (tenant, region) in new[] { (euTenant, "eu"), (usTenant, "us") })
        {
            await system.Publisher.PublishEventAsync(DaprComponents.PubSub, Topics.ModerationDecided,
                ContractEvents.Decision(tenant, "sexual/minors", $"req-{tenant}") with { Region = region }, Ct);
        }

        static JsonElement? Of(JsonElement list, string tenant) =>
            list.EnumerateArray().Where(a => a.GetProperty("tenantId").GetString() == tenant).Select(a => (JsonElement?)a).FirstOrDefault();
        var all = default(JsonElement);
        await system.WaitAsync(async () =>
        {
            all = await SendAsync(HttpMethod.Get, "/admin/alerts", HttpStatusCode.OK);
            return Of(all, euTenant) is not null && Of(all, usTenant) is not null;
        }, TimeSpan.FromSeconds(60), "both critical alerts");
        var (euAlert, usAlert) = (Of(all, euTenant)!.Value, Of(all, usTenant)!.Value);
        Assert.Equal(["us"], usAlert.GetProperty("regions").EnumerateArray().Select(r => r.GetString()));

        // Before, an eu-only key saw (and could acknowledge) the us tenant's alert.
        var euView = await SendAsync(HttpMethod.Get, "/admin/alerts", HttpStatusCode.OK, AuditSystem.EuOnlyKey);
        Assert.NotNull(Of(euView, euTenant));
        Assert.Null(Of(euView, usTenant));
        var usId = usAlert.GetProperty("id").GetString()!;
        await system.WaitAsync(async () =>
        {
            // 503 until the persisted history has been read back.
            using var response = await system.Http.SendAsync(system.Admin(HttpMethod.Post, $"/admin/alerts/{euAlert.GetProperty("id").GetString()}/ack", AuditSystem.EuOnlyKey), Ct);
            return response.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(60), "the eu alert to be acknowledged by the eu key");
        var refused = await SendAsync(HttpMethod.Post, $"/admin/alerts/{usId}/ack", HttpStatusCode.NotFound, AuditSystem.EuOnlyKey);
        Assert.Equal("alert_not_found", refused.GetProperty("error").GetProperty("code").GetString());
        var open = await SendAsync(HttpMethod.Get, "/admin/alerts?unacknowledged=true", HttpStatusCode.OK, AuditSystem.ComplianceKey);
        Assert.NotNull(Of(open, usTenant));
        var acked = await SendAsync(HttpMethod.Post, $"/admin/alerts/{usId}/ack", HttpStatusCode.OK, AuditSystem.ComplianceKey);
        Assert.Equal("auditor", acked.GetProperty("acknowledgedBy").GetString());
    }

    [Fact]
    public async Task Unreadable_queries_and_bodies_reversed_ranges_and_unknown_requests_get_json_errors()
    {
        await AssertJsonErrorAsync(system.Admin(HttpMethod.Get, "/admin/reports?from=yesterday", AuditSystem.ComplianceKey), HttpStatusCode.BadRequest, "bad_request");
        await AssertJsonErrorAsync(system.Admin(HttpMethod.Post, "/admin/subjects/erase", content: new StringContent("{\"tenantId\":", System.Text.Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest, "bad_request");
        await AssertJsonErrorAsync(system.Admin(HttpMethod.Get, "/admin/reports?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", AuditSystem.ComplianceKey),
            HttpStatusCode.BadRequest, "bad_range");
        await AssertJsonErrorAsync(system.Admin(HttpMethod.Get, "/audit/requests/no-such-request"), HttpStatusCode.NotFound, "request_not_found");
    }

    private async Task AssertJsonErrorAsync(HttpRequestMessage request, HttpStatusCode status, string code)
    {
        using (request)
        using (var response = await system.Http.SendAsync(request, Ct))
        {
            var text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == status, $"{request.RequestUri}: {(int)response.StatusCode} {text}");
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            using var error = JsonDocument.Parse(text);
            Assert.Equal(code, error.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task The_masked_record_of_a_request_is_served_by_request_id()
    {
        var id = (await PublishAsync("eu-corp", "lookup-user", 1))[0];

        // It opens sealed text: no key, a key without the admin role, or a key of other regions does not read it.
        await AssertJsonErrorAsync(new HttpRequestMessage(HttpMethod.Get, $"{system.App.BaseAddress}/audit/requests/{id}"), HttpStatusCode.Unauthorized, "invalid_admin_key");
        await AssertJsonErrorAsync(system.Admin(HttpMethod.Get, $"/audit/requests/{id}", AuditSystem.ComplianceKey), HttpStatusCode.Forbidden, "missing_role");

        using var response = await system.Http.SendAsync(system.Admin(HttpMethod.Get, $"/audit/requests/{id}"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var record = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(id, record.RootElement.GetProperty("requestId").GetString());
        Assert.StartsWith("psn_", record.RootElement.GetProperty("userId").GetString(), StringComparison.Ordinal);
    }
}
