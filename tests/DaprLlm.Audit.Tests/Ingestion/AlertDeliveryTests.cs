using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Contracts;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Audit.Tests.Ingestion;

/// <summary>Alerts travel from a delivered event through the app and its sidecar's bindings.http to a local webhook receiver.</summary>
public sealed class AlertDeliveryTests(AuditSystem system) : IClassFixture<AuditSystem>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_critical_category_raises_one_slack_and_one_pagerduty_alert_for_the_incident()
    {
        for (var i = 0; i < 3; i++)
        {
            // Safety's decision to send the text to review, as safety publishes it (its top category is the trigger).
            await system.Publisher.PublishEventAsync(DaprComponents.PubSub, Topics.ModerationDecided,
                ContractEvents.Decision("eu-corp", "sexual/minors", $"req-{Guid.NewGuid():N}", "review"), Ct);
        }

        await system.WaitAsync(() => Task.FromResult(system.Webhooks.Any(w => w.Path == "/hooks/slack") && system.Webhooks.Any(w => w.Path == "/hooks/pagerduty")),
            TimeSpan.FromSeconds(60), "the alert webhooks");
        // All three events are observed once the history folds them into the one alert.
        JsonElement alert = default;
        await system.WaitAsync(async () =>
        {
            using var response = await system.Http.SendAsync(system.Admin(HttpMethod.Get, "/admin/alerts"), Ct);
            var alerts = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.EnumerateArray()
                .Where(a => a.GetProperty("category").GetString() == "sexual/minors").ToList();
            alert = alerts.FirstOrDefault();
            return alerts.Count == 1 && alert.GetProperty("occurrences").GetInt32() == 3;
        }, TimeSpan.FromSeconds(60), "the three events to fold into one alert");

        Assert.Equal("critical", alert.GetProperty("severity").GetString());
        var slack = Assert.Single(system.Webhooks, w => w.Path == "/hooks/slack");
        Assert.Contains("CRITICAL", JsonDocument.Parse(slack.Body).RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);
        var pagerDuty = JsonDocument.Parse(Assert.Single(system.Webhooks, w => w.Path == "/hooks/pagerduty").Body).RootElement;
        Assert.Equal("trigger", pagerDuty.GetProperty("event_action").GetString());
        Assert.Equal("critical", pagerDuty.GetProperty("payload").GetProperty("severity").GetString());
        Assert.Equal("test-routing-key", pagerDuty.GetProperty("routing_key").GetString());

        using var ack = await system.Http.SendAsync(system.Admin(HttpMethod.Post, $"/admin/alerts/{alert.GetProperty("id").GetString()}/ack"), Ct);
        var acked = await ack.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(ack.IsSuccessStatusCode, acked.GetRawText());
        Assert.Equal("root", acked.GetProperty("acknowledgedBy").GetString());

        // The history and the acknowledgement survive a crash of the app (SIGKILL: nothing is flushed on the way out).
        await system.App.KillAsync();
        await system.App.StartAsync();
        await system.WaitAsync(async () =>
        {
            using var response = await system.Http.SendAsync(system.Admin(HttpMethod.Get, "/admin/alerts"), Ct);
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            var restored = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.EnumerateArray()
                .SingleOrDefault(a => a.GetProperty("id").GetString() == alert.GetProperty("id").GetString());
            return restored.ValueKind == JsonValueKind.Object && restored.GetProperty("acknowledgedBy").GetString() == "root"
                && restored.GetProperty("occurrences").GetInt32() == 3;
        }, TimeSpan.FromSeconds(60), "the acknowledged alert to be read back after the restart");
        using var open = await system.Http.SendAsync(system.Admin(HttpMethod.Get, "/admin/alerts?unacknowledged=true"), Ct);
        Assert.DoesNotContain(alert.GetProperty("id").GetString()!, await open.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }
}
