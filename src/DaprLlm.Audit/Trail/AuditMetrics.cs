using System.Diagnostics.Metrics;

namespace DaprLlm.Audit.Trail;

/// <summary>The audit app's instruments (meter "DaprLlm.Audit", exported by ServiceDefaults): ingest, lag, verify, alerts.</summary>
public static class AuditMetrics
{
    private static readonly Meter Meter = new("DaprLlm.Audit");

    public static readonly Counter<long> Stored = Meter.CreateCounter<long>("audit.events.stored", description: "Events appended to the chain");

    public static readonly Counter<long> Duplicates = Meter.CreateCounter<long>("audit.events.duplicate", description: "Redeliveries recognised by event id");

    public static readonly Histogram<double> IngestLag = Meter.CreateHistogram<double>("audit.ingest.lag", "ms", "From the event's time to its commit");

    public static readonly Counter<long> Verifications = Meter.CreateCounter<long>("audit.verify.runs", description: "Chain verifications, tagged ok=true|false");

    public static readonly Counter<long> RecordsVerified = Meter.CreateCounter<long>("audit.verify.records", description: "Hot records walked by verifications");

    public static readonly Counter<long> Alerts = Meter.CreateCounter<long>("audit.alerts.raised", description: "Safety alerts raised, tagged by severity and category");
}
