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

    /// <summary>
    /// The regions whose records fed this alert, sorted: a caller sees it only with a key holding them all. Empty on
    /// alerts saved before regions were recorded; those count as every region.
    /// </summary>
    public IReadOnlyList<string> Regions { get; init; } = [];

    /// <summary>Whether a caller holding <paramref name="held"/> may see this alert (<paramref name="all"/>: every region kept here).</summary>
    public bool IsVisibleTo(IReadOnlySet<string> held, IEnumerable<string> all) => (Regions.Count == 0 ? all : Regions).All(held.Contains);

    /// <summary>The regions of two alerts folded into one (unknown, i.e. every region, when either is unknown).</summary>
    public static IReadOnlyList<string> MergeRegions(IReadOnlyList<string> a, IReadOnlyList<string> b) =>
        a.Count == 0 || b.Count == 0 ? [] : [.. a.Union(b, StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}
