using System.Text.Json;
using Dapr.Client;
using DaprLlm.Audit.Alerts;
using DaprLlm.Audit.Tests.Alerts;
using DaprLlm.Audit.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DaprLlm.Audit.Tests.Ingestion;

/// <summary>
/// A rate spike (not a single critical hit) travels from the detector through the audit sidecar's bindings.http to the
/// local Slack and PagerDuty receivers as one incident, and steady traffic sends nothing. The clock is fake, so an hour
/// of traffic takes milliseconds; delivery is the real path: the app's <see cref="AlertService.DeliverAsync"/>, the Dapr
/// SDK, the sidecar's output binding and HTTP to the receiver.
/// </summary>
public sealed class AlertSpikeDeliveryTests(AuditSystem system) : IClassFixture<AuditSystem>
{
    private static readonly TimeSpan Bucket = TimeSpan.FromMinutes(1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_spike_in_one_category_reaches_both_webhooks_as_one_critical_incident()
    {
        // A category no other test of this fixture triggers, so every webhook body naming it comes from this test.
        const string category = "harassment/threatening";
        var (service, time, dapr) = Create();
        AnomalyDetectorTests.Steady(service, time, 30, 10, category);
        AnomalyDetectorTests.Steady(service, time, 3, 120, category);
        AnomalyDetectorTests.Steady(service, time, 5, 10, category);
        var delivered = await DeliverAllAsync(service);

        // The detector may deliver a warning and then its escalation: both are the same alert (id and dedup key).
        var alert = Assert.Single(service.History());
        Assert.Equal(Alert.Critical, alert.Severity);
        Assert.NotEmpty(delivered);
        Assert.All(delivered, d => Assert.Equal(alert.Id, d.Id));

        var pagerDuty = Bodies("/hooks/pagerduty").Where(b => b.GetProperty("payload").GetProperty("class").GetString() == category).ToList();
        Assert.Equal(delivered.Count, pagerDuty.Count);
        Assert.Equal(["daprllm-" + category], pagerDuty.Select(b => b.GetProperty("dedup_key").GetString()).Distinct());
        Assert.Equal([alert.Id], pagerDuty.Select(b => b.GetProperty("payload").GetProperty("custom_details").GetProperty("alertId").GetString()).Distinct());
        Assert.Equal("critical", pagerDuty[^1].GetProperty("payload").GetProperty("severity").GetString());

        var slack = Bodies("/hooks/slack").Where(b => b.GetRawText().Contains(alert.Id, StringComparison.Ordinal)).ToList();
        Assert.Equal(delivered.Count, slack.Count);
        Assert.StartsWith("[CRITICAL]", slack[^1].GetProperty("text").GetString(), StringComparison.Ordinal);
        dapr.Dispose();
    }

    [Fact]
    public async Task Steady_traffic_sends_nothing_to_the_webhooks()
    {
        const string category = "violence/graphic";
        var (service, time, dapr) = Create();
        // Noisy but stationary: 8 to 12 triggers a minute for two hours.
        for (var b = 0; b < 120; b++)
        {
            AnomalyDetectorTests.Steady(service, time, 1, 8 + (b % 5), category);
        }

        var delivered = await DeliverAllAsync(service);

        Assert.Empty(delivered);
        Assert.Empty(service.History());
        Assert.DoesNotContain(system.Webhooks, w => w.Body.Contains(category, StringComparison.Ordinal));
        dapr.Dispose();
    }

    private (AlertService Service, FakeTimeProvider Time, DaprClient Dapr) Create()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        // The same detector settings as AnomalyDetectorTests, and the bindings the audit app is configured with.
        var options = new AlertOptions
        {
            Bucket = Bucket,
            Step = TimeSpan.FromSeconds(10),
            WarmupBuckets = 5,
            MinCount = 5,
            WarningZ = 4,
            CriticalZ = 10,
            Dedup = TimeSpan.FromMinutes(30),
            Bindings =
            [
                new AlertBinding { Name = "alerts-slack", Format = "slack" },
                new AlertBinding { Name = "alerts-pagerduty", Format = "pagerduty", RoutingKey = "test-routing-key" },
            ],
        };
        options.ApplyDefaults();
        var dapr = new DaprClientBuilder().UseHttpEndpoint(system.AuditSidecar.HttpEndpoint).UseGrpcEndpoint(system.AuditSidecar.GrpcEndpoint).Build();
        return (new AlertService(options, time, dapr, NullLogger<AlertService>.Instance), time, dapr);
    }

    // What the app's AlertHost loop does with each alert the service hands over.
    private static async Task<List<Alert>> DeliverAllAsync(AlertService service)
    {
        var delivered = new List<Alert>();
        while (service.Outbox.TryRead(out var alert))
        {
            await service.DeliverAsync(alert, Ct);
            delivered.Add(alert);
        }

        return delivered;
    }

    private List<JsonElement> Bodies(string path) =>
        system.Webhooks.Where(w => w.Path == path).Select(w => JsonDocument.Parse(w.Body).RootElement).ToList();
}
