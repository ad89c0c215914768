using System.Diagnostics.Metrics;

namespace DaprLlm.Safety.Review;

/// <summary>Counters of review outcomes (meter "DaprLlm.Safety.Review", exported by the service defaults).</summary>
public sealed class ReviewMetrics
{
    public const string MeterName = "DaprLlm.Safety.Review";

    private readonly Counter<long> _created;
    private readonly Counter<long> _decided;

    public ReviewMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _created = meter.CreateCounter<long>("daprllm.review.created", description: "Review items created, by tenant and severity");
        _decided = meter.CreateCounter<long>("daprllm.review.decided", description: "Review items decided, by tenant, status, decision, whether escalated and whether closed by an erasure");
    }

    public void Created(ReviewItem item) =>
        _created.Add(1, new KeyValuePair<string, object?>("tenant", item.TenantId), new KeyValuePair<string, object?>("severity", item.Severity));

    public void Decided(ReviewItem item) =>
        _decided.Add(1,
            new KeyValuePair<string, object?>("tenant", item.TenantId),
            new KeyValuePair<string, object?>("status", item.Status),
            new KeyValuePair<string, object?>("decision", item.Decision),
            new KeyValuePair<string, object?>("escalated", item.Escalated),
            new KeyValuePair<string, object?>("erased", item.ClosedByErasure));
}
