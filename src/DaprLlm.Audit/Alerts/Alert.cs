namespace DaprLlm.Audit.Alerts;

/// <summary>A raised alert: one per incident (key + de-duplication window). <see cref="Z"/> is null for always-critical categories.</summary>
public sealed record Alert(
    string Id,
    string Severity,
    string Key,
    string Category,
    string? TenantId,
    long Count,
    double Baseline,
    double? Z,
    DateTimeOffset RaisedAt,
    string Summary)
{
    public const string Critical = "critical";
    public const string Warning = "warning";

    /// <summary>A hit of an always-critical category (key "critical/…"): one incident per tenant, not per category.</summary>
    public bool IsPerTenantIncident => Key.StartsWith("critical/", StringComparison.Ordinal) && TenantId is not null;

    public DateTimeOffset? AcknowledgedAt { get; init; }

    public string? AcknowledgedBy { get; init; }

    /// <summary>Anomalous windows folded into this alert by de-duplication (an escalation counts as one).</summary>
    public int Occurrences { get; init; } = 1;
}
