using Dapr.Client;
using DaprLlm.Audit.Alerts;
using DaprLlm.Audit.Reports;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DaprLlm.Audit.Tests.Alerts;

/// <summary>Sliding-bucket rates against an EWMA baseline, severities and de-duplication, on a fake clock.</summary>
public sealed class AnomalyDetectorTests
{
    private static readonly TimeSpan Bucket = TimeSpan.FromMinutes(1);

    private static (AlertService Service, FakeTimeProvider Time) Create(TimeSpan? step = null, params string[] criticalCategories)
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var options = new AlertOptions { Bucket = Bucket, Step = step ?? TimeSpan.FromSeconds(10), WarmupBuckets = 5, MinCount = 5, WarningZ = 4, CriticalZ = 10, Dedup = TimeSpan.FromMinutes(30) };
        options.CriticalCategories.AddRange(criticalCategories);
        options.ApplyDefaults();
        // Delivery is not exercised here (the end-to-end test covers the bindings), so the client is never called.
        var dapr = new DaprClientBuilder().UseHttpEndpoint("http://127.0.0.1:9").UseGrpcEndpoint("http://127.0.0.1:9").Build();
        return (new AlertService(options, time, dapr, NullLogger<AlertService>.Instance), time);
    }

    /// <summary>
    /// One blocked request as the apps report it: safety's moderation decision, then the gateway's refusal of the same
    /// request (one incident: counting both would double every rate).
    /// </summary>
    internal static void Block(AlertService service, string tenant, string category, int n, string action = "block", string region = "eu")
    {
        var requestId = $"r{n}-{Guid.NewGuid():N}";
        service.Observe(ContractEvents.Entry(Topics.ModerationDecided, tenant, ContractEvents.Decision(tenant, category, requestId, action), region));
        service.Observe(ContractEvents.Entry(Topics.RequestCompleted, tenant, ContractEvents.Refused(tenant, requestId), region));
    }

    /// <summary>Feeds <paramref name="perBucket"/> blocked requests of <paramref name="category"/> per one-minute bucket, evenly spaced, for <paramref name="buckets"/> buckets.</summary>
    internal static void Steady(AlertService service, FakeTimeProvider time, int buckets, int perBucket, string category = "violence", Func<string, string>? regionOf = null)
    {
        for (var b = 0; b < buckets; b++)
        {
            for (var i = 0; i < perBucket; i++)
            {
                var tenant = "t" + (i % 3);
                Block(service, tenant, category, i, region: regionOf?.Invoke(tenant) ?? "eu");
                time.Advance(Bucket / (perBucket + 1));
            }

            time.Advance(Bucket - (Bucket / (perBucket + 1) * perBucket));
            service.Tick();
        }
    }

    [Fact]
    public void Steady_traffic_raises_no_alert()
    {
        var (service, time) = Create();
        // Noisy but stationary: 8 to 12 refusals a minute for two hours.
        for (var b = 0; b < 120; b++)
        {
            Steady(service, time, 1, 8 + (b % 5));
        }

        Assert.Empty(service.History());
    }

    [Fact]
    public void A_spike_in_one_category_raises_exactly_one_alert_of_the_right_severity()
    {
        var (service, time) = Create();
        Steady(service, time, 30, 10);
        // A spike lasting three buckets is one incident.
        Steady(service, time, 3, 120);
        Steady(service, time, 5, 10);

        var alert = Assert.Single(service.History());
        Assert.Equal(Alert.Critical, alert.Severity);
        Assert.Equal("violence", alert.Category);
        Assert.Equal(120, alert.Count);
        Assert.True(alert.Occurrences >= 3);
        // The sliding window sees the spike rise: whatever it delivered on the way (a warning, then its escalation)
        // is this one alert, and the last delivery is critical.
        var delivered = ReadOutbox(service);
        Assert.All(delivered, d => Assert.Equal(alert.Id, d.Id));
        Assert.Equal(Alert.Critical, delivered[^1].Severity);
    }

    [Theory]
    [InlineData(10, Alert.Critical)]
    [InlineData(60, Alert.Warning)]
    public void A_spike_straddling_a_minute_boundary_is_counted_whole_and_raises_one_alert(int stepSeconds, string severity)
    {
        var (service, time) = Create(TimeSpan.FromSeconds(stepSeconds));
        Steady(service, time, 30, 10);

        // After 30 quiet seconds, 50 triggers evenly over the 60 s from hh:mm:30 to hh:mm+1:30 (five times the steady
        // rate). Fixed one-minute buckets (step = 60 s) see 25 in each of two minutes (z ≈ 4.5: a warning); the sliding
        // window sees all 50 (z ≈ 12: critical).
        time.Advance(TimeSpan.FromSeconds(30));
        service.Tick();
        for (var i = 0; i < 50; i++)
        {
            Block(service, "t" + (i % 3), "violence", i);
            time.Advance(TimeSpan.FromSeconds(1.2));
            service.Tick();
        }

        time.Advance(TimeSpan.FromSeconds(30));
        service.Tick();
        Steady(service, time, 10, 10);

        var alert = Assert.Single(service.History());
        Assert.Equal(severity, alert.Severity);
        Assert.Equal("violence", alert.Category);
    }

    [Fact]
    public void Moderate_drift_raises_a_warning()
    {
        var (service, time) = Create();
        Steady(service, time, 30, 10);
        Steady(service, time, 1, 28);
        var alert = Assert.Single(service.History());
        Assert.Equal(Alert.Warning, alert.Severity);
    }

    [Fact]
    public void A_single_sexual_minors_hit_is_critical_at_once_and_repeats_fold_into_it()
    {
        var (service, time) = Create();
        Block(service, "t1", "sexual/minors", 1);
        time.Advance(TimeSpan.FromMinutes(1));
        Block(service, "t1", "sexual/minors", 2);
        var alert = Assert.Single(service.History());
        Assert.Equal(Alert.Critical, alert.Severity);
        Assert.Equal(2, alert.Occurrences);
    }

    [Fact]
    public void A_sexual_minors_hit_of_another_tenant_is_its_own_incident()
    {
        var (service, time) = Create();
        Block(service, "t1", "sexual/minors", 1);
        time.Advance(TimeSpan.FromMinutes(1));
        Block(service, "t2", "sexual/minors", 2);
        time.Advance(TimeSpan.FromMinutes(1));
        Block(service, "t1", "sexual/minors", 3);

        // Folded by category alone, t2's hit was counted into t1's alert and never delivered.
        var alerts = service.History();
        Assert.Equal(["t1", "t2"], alerts.Select(a => a.TenantId).Order());
        Assert.Equal(2, alerts.Single(a => a.TenantId == "t1").Occurrences);
        Assert.Equal(["t1", "t2"], ReadOutbox(service).Select(a => a.TenantId).Order());
        Assert.NotEqual(AlertPayloads.PagerDuty(alerts[0], null)["dedup_key"]!.GetValue<string>(), AlertPayloads.PagerDuty(alerts[1], null)["dedup_key"]!.GetValue<string>());
    }

    [Fact]
    public void An_acknowledged_alert_keeps_who_and_when()
    {
        var (service, _) = Create();
        Block(service, "t1", "sexual/minors", 1);
        var id = service.History()[0].Id;
        var acked = service.Acknowledge(id, "oncall");
        Assert.Equal("oncall", acked!.AcknowledgedBy);
        Assert.NotNull(service.History()[0].AcknowledgedAt);
        Assert.Null(service.Acknowledge("missing", "oncall"));
    }

    [Fact]
    public void An_acknowledged_warning_that_escalates_to_critical_is_open_again()
    {
        var (service, time) = Create();
        Steady(service, time, 30, 10);
        Steady(service, time, 1, 28);
        var warning = Assert.Single(service.History());
        Assert.Equal(Alert.Warning, warning.Severity);
        service.Acknowledge(warning.Id, "oncall");

        // Within the de-duplication window the spike escalates the same alert: before, it kept the acknowledgement.
        Steady(service, time, 3, 120);
        var alert = Assert.Single(service.History());
        Assert.Equal(warning.Id, alert.Id);
        Assert.Equal(Alert.Critical, alert.Severity);
        Assert.Null(alert.AcknowledgedAt);
        Assert.Null(alert.AcknowledgedBy);
    }

    [Fact]
    public void An_alert_lists_the_regions_whose_records_fed_it_and_only_a_key_holding_them_all_sees_or_acknowledges_it()
    {
        var (service, time) = Create();
        Steady(service, time, 30, 10, "violence", t => t == "t2" ? "us" : "eu");
        Steady(service, time, 3, 120, "violence", t => t == "t2" ? "us" : "eu");
        Block(service, "t-eu", "sexual/minors", 1, region: "eu");

        var spike = Assert.Single(service.History(), a => a.Category == "violence");
        Assert.Equal(["eu", "us"], spike.Regions);
        var hit = Assert.Single(service.History(), a => a.Category == "sexual/minors");
        Assert.Equal(["eu"], hit.Regions);
        HashSet<string> euOnly = ["eu"], both = ["eu", "us"];
        Assert.False(spike.IsVisibleTo(euOnly, both));
        Assert.True(spike.IsVisibleTo(both, both));
        Assert.True(hit.IsVisibleTo(euOnly, both));
        Assert.Null(service.Acknowledge(spike.Id, "eu-admin", a => a.IsVisibleTo(euOnly, both)));
        Assert.Null(service.History().Single(a => a.Id == spike.Id).AcknowledgedAt);
    }

    [Fact]
    public void An_alert_saved_before_regions_were_recorded_reads_back_and_counts_as_every_region()
    {
        var (service, _) = Create();
        // A history entry as an earlier build saved it in the state store (no "regions").
        var stored = System.Text.Json.JsonSerializer.Deserialize<List<Alert>>(
            """[{"id":"old1","severity":"critical","key":"critical/sexual/minors","category":"sexual/minors","tenantId":"t1","count":1,"baseline":0,"z":null,"raisedAt":"2026-02-01T00:00:00+00:00","summary":"s","occurrences":2}]""",
            System.Text.Json.JsonSerializerOptions.Web)!;
        service.Restore(stored);

        var old = Assert.Single(service.History());
        Assert.Empty(old.Regions);
        Assert.Equal(2, old.Occurrences);
        Assert.False(old.IsVisibleTo(new HashSet<string> { "eu" }, ["eu", "us"]));
        Assert.True(old.IsVisibleTo(new HashSet<string> { "eu", "us" }, ["eu", "us"]));
    }

    [Fact]
    public void Allowed_requests_are_not_triggers()
    {
        var (service, time) = Create();
        for (var i = 0; i < 500; i++)
        {
            // An allow may still name the category closest to its threshold.
            service.Observe(ContractEvents.Entry(Topics.ModerationDecided, "t", ContractEvents.Decision("t", "sexual/minors", $"a{i}", "allow")));
            service.Observe(ContractEvents.Entry(Topics.RequestCompleted, "t",
                new RequestCompletedV1($"a{i}", "daprllm-demo", RequestCompletedV1.Outcomes.Completed, "stop", 3, 4, "allow", "allow", null, ContractEvents.At, "t")));
            time.Advance(TimeSpan.FromSeconds(1));
        }

        service.Tick();
        Assert.Empty(service.History());
    }

    [Fact]
    public void A_classification_call_through_the_moderations_api_is_no_trigger()
    {
        var (service, _) = Create();
        // A tenant screening its users' posts through /v1/moderations: each flagged post would page on-call.
        for (var i = 0; i < 20; i++)
        {
            var decision = ContractEvents.Decision("t1", "sexual/minors", $"modr-{i}", i % 2 == 0 ? "block" : "review") with { Stage = ModerationDecidedV1.ApiStage };
            service.Observe(ContractEvents.Entry(Topics.ModerationDecided, "t1", decision));
        }

        service.Tick();
        Assert.Empty(service.History());

        // The same decision of the gateway's guardrail is critical at once.
        service.Observe(ContractEvents.Entry(Topics.ModerationDecided, "t1", ContractEvents.Decision("t1", "sexual/minors", "r1")));
        Assert.Equal(Alert.Critical, Assert.Single(service.History()).Severity);
    }

    [Fact]
    public void A_review_decision_counts_by_its_top_category_and_the_review_item_it_creates_is_not_counted_again()
    {
        var (service, _) = Create();
        service.Observe(ContractEvents.Entry(Topics.ModerationDecided, "t1", ContractEvents.Decision("t1", "sexual/minors", "r1", "review")));
        service.Observe(ContractEvents.Entry(Topics.ReviewCreated, "t1", ContractEvents.ReviewCreated("t1", "r1")));
        service.Observe(ContractEvents.Entry(Topics.RequestCompleted, "t1", ContractEvents.Refused("t1", "r1")));

        // Before, only a made-up "category" field was read: real decisions (topCategory) never reached the detector.
        var alert = Assert.Single(service.History());
        Assert.Equal(Alert.Critical, alert.Severity);
        Assert.Equal("sexual/minors", alert.Category);
        Assert.Equal(1, alert.Occurrences);
    }

    [Fact]
    public void A_filtered_output_counts_once_by_its_decision_and_a_decision_without_a_category_is_uncategorized()
    {
        var (service, _) = Create(null, SafetyCategory.Uncategorized, "sexual/minors");
        var decision = ContractEvents.Decision("t1", null, "r1", "block", "output") with { Scores = new Dictionary<string, double>() };
        service.Observe(ContractEvents.Entry(Topics.ModerationDecided, "t1", decision));
        service.Observe(ContractEvents.Entry(Topics.RequestCompleted, "t1", ContractEvents.Refused("t1", "r1", RequestCompletedV1.Outcomes.FilteredOutput)));

        var alert = Assert.Single(service.History());
        Assert.Equal(SafetyCategory.Uncategorized, alert.Category);
        Assert.Equal(1, alert.Occurrences);
    }

    [Fact]
    public void A_key_idle_for_days_is_put_away_and_still_judges_a_spike_when_it_comes_back()
    {
        var options = new AlertOptions { Bucket = Bucket, Step = TimeSpan.FromSeconds(10), WarmupBuckets = 5, MinCount = 5, WarningZ = 4, CriticalZ = 10 };
        var detector = new AnomalyDetector(options);
        var at = DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        for (var minute = 0; minute < 30; minute++)
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.Empty(detector.Observe("violence", "t1", "eu", at));
                at += TimeSpan.FromSeconds(6);
            }

            Assert.Empty(detector.Tick(at));
        }

        Assert.Equal(2, detector.TrackedKeys); // "category/violence" and "tenant/t1/violence"

        // Three quiet days: the baselines decay to nothing and both keys are put away.
        for (var hour = 0; hour < 72; hour++)
        {
            at += TimeSpan.FromHours(1);
            Assert.Empty(detector.Tick(at));
        }

        Assert.Equal(0, detector.TrackedKeys);

        // Back with a burst: judged at once against the (now zero) baseline, not held back by a new warm-up.
        var alerts = new List<Alert>();
        for (var i = 0; i < 40; i++)
        {
            alerts.AddRange(detector.Observe("violence", "t1", "eu", at));
            at += TimeSpan.FromSeconds(1);
        }

        alerts.AddRange(detector.Tick(at + Bucket));
        Assert.Contains(alerts, a => a.Key == "tenant/t1/violence" && a.Severity == Alert.Critical);
        Assert.Contains(alerts, a => a.Key == "category/violence" && a.Severity == Alert.Critical);
    }

    [Fact]
    public void A_trigger_in_one_key_leaves_other_keys_windows_to_the_timer()
    {
        var options = new AlertOptions { Bucket = Bucket, Step = TimeSpan.FromSeconds(10), WarmupBuckets = 5, MinCount = 5, WarningZ = 4, CriticalZ = 10 };
        var detector = new AnomalyDetector(options);
        var at = DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        for (var minute = 0; minute < 30; minute++)
        {
            for (var i = 0; i < 10; i++)
            {
                detector.Observe("hate", null, "eu", at);
                at += TimeSpan.FromSeconds(6);
            }

            detector.Tick(at);
        }

        for (var i = 0; i < 60; i++)
        {
            detector.Observe("hate", null, "eu", at);
        }

        // A trigger of another category does no work for the hate key (constant cost per event however many keys
        // exist); the hate spike is not lost: the timer's Tick closes its window and raises it.
        at += TimeSpan.FromMinutes(2);
        Assert.Empty(detector.Observe("violence", null, "eu", at));
        Assert.Contains(detector.Tick(at), a => a.Category == "hate" && a.Severity == Alert.Critical);
    }

    private static List<Alert> ReadOutbox(AlertService service)
    {
        var alerts = new List<Alert>();
        while (service.Outbox.TryRead(out var alert))
        {
            alerts.Add(alert);
        }

        return alerts;
    }
}
