using System.Text.Json.Nodes;

namespace DaprLlm.Audit.Alerts;

/// <summary>Webhook bodies in the shapes Slack incoming webhooks and PagerDuty Events API v2 accept.</summary>
public static class AlertPayloads
{
    public static JsonObject Slack(Alert alert) => new()
    {
        ["text"] = $"[{alert.Severity.ToUpperInvariant()}] DaprLlm safety alert: {alert.Summary}",
        ["blocks"] = new JsonArray
        {
            new JsonObject
            {
                ["type"] = "section",
                ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = $"*{alert.Severity.ToUpperInvariant()}* `{alert.Category}`\n{alert.Summary}" },
            },
            new JsonObject
            {
                ["type"] = "context",
                ["elements"] = new JsonArray { new JsonObject { ["type"] = "mrkdwn", ["text"] = $"alert {alert.Id} · {alert.RaisedAt:u}" } },
            },
        },
    };

    public static JsonObject PagerDuty(Alert alert, string? routingKey) => new()
    {
        ["routing_key"] = routingKey ?? "",
        ["event_action"] = "trigger",
        // PagerDuty folds events with the same dedup key into one incident, matching our de-duplication.
        ["dedup_key"] = "daprllm-" + alert.Category + (alert.IsPerTenantIncident ? "-" + alert.TenantId : ""),
        ["payload"] = new JsonObject
        {
            ["summary"] = alert.Summary,
            ["severity"] = alert.Severity == Alert.Critical ? "critical" : "warning",
            ["source"] = "daprllm-audit",
            ["component"] = "safety",
            ["group"] = alert.TenantId,
            ["class"] = alert.Category,
            ["custom_details"] = new JsonObject { ["count"] = alert.Count, ["baseline"] = alert.Baseline, ["z"] = alert.Z, ["alertId"] = alert.Id },
        },
    };
}
