namespace DaprLlm.Audit.Reports;

/// <summary>
/// Counts over a period, per region: requests, refusals and reviews (by category, tenant and region), block and review
/// rates, review SLA compliance, top rule hits, admin actions, key usage and the safety incident rate beside latency SLIs.
/// </summary>
public sealed record ComplianceReport
{
    public required IReadOnlyList<string> Regions { get; init; }

    public required DateTimeOffset From { get; init; }

    public required DateTimeOffset To { get; init; }

    public long Records { get; init; }

    /// <summary>Finished requests (request.completed), refused or not.</summary>
    public long Requests { get; init; }

    /// <summary>Admitted requests (request.received).</summary>
    public long RequestsReceived { get; init; }

    public long RefusedInput { get; init; }

    public long FilteredOutput { get; init; }

    /// <summary>Distinct review items created (an escalation is the same item).</summary>
    public long ReviewsCreated { get; init; }

    public long ReviewsDecided { get; init; }

    public long AdminActions { get; init; }

    public long Erasures { get; init; }

    /// <summary>(refused input + filtered output) / requests.</summary>
    public double BlockRate { get; init; }

    /// <summary>Reviews created / requests.</summary>
    public double ReviewRate { get; init; }

    public required ReviewSla ReviewSla { get; init; }

    public required SafetySli Safety { get; init; }

    public required SortedDictionary<string, long> ByEventType { get; init; }

    public required SortedDictionary<string, long> ByTenant { get; init; }

    public required SortedDictionary<string, long> ByRegion { get; init; }

    public required SortedDictionary<string, long> ByOutcome { get; init; }

    /// <summary>Records of any type that name a category.</summary>
    public required SortedDictionary<string, long> ByCategory { get; init; }

    public required SortedDictionary<string, long> RequestsByTenant { get; init; }

    public required SortedDictionary<string, long> RequestsByRegion { get; init; }

    public required SortedDictionary<string, long> RefusalsByCategory { get; init; }

    public required SortedDictionary<string, long> RefusalsByTenant { get; init; }

    public required SortedDictionary<string, long> RefusalsByRegion { get; init; }

    public required SortedDictionary<string, long> ReviewsByCategory { get; init; }

    public required SortedDictionary<string, long> ReviewsByTenant { get; init; }

    public required SortedDictionary<string, long> ReviewsByRegion { get; init; }

    /// <summary>moderation.decided of the gateway's guardrails by action (allow, block, review, ...).</summary>
    public required SortedDictionary<string, long> ModerationByAction { get; init; }

    /// <summary>
    /// moderation.decided of classification calls through /v1/moderations (Stage "api") by action: texts a client
    /// screened, kept apart from the guardrail figures (categories, rule hits, alerts). Optional, so an older report reads.
    /// </summary>
    public SortedDictionary<string, long> ModerationApiByAction { get; init; } = new(StringComparer.Ordinal);

    public required SortedDictionary<string, long> AdminActionsByAction { get; init; }

    /// <summary>The most frequent rule hits, most frequent first.</summary>
    public required IReadOnlyList<RuleHitCount> TopRuleHits { get; init; }

    public required IReadOnlyList<KeyUsage> KeyUsage { get; init; }

    /// <summary>Per hour: requests, safety incidents and latency, side by side.</summary>
    public required IReadOnlyList<HourlySli> Hourly { get; init; }
}

/// <summary>
/// Review decision times against their deadlines (the deadline of the queue the item was decided in).
/// <see cref="Compliance"/> is WithinSla / (Decided + OpenOverdue): an item still open past its deadline counts as a
/// breach; null (n/a) when no item was due.
/// </summary>
public sealed record ReviewSla(long Decided, long WithinSla, long Breached, double? Compliance, long OpenOverdue, double? MedianMinutes, double? P95Minutes);

/// <summary>Safety incidents (refused or filtered requests, blocked reviews) and request latency (request.received → request.completed).</summary>
public sealed record SafetySli(long Incidents, double IncidentRate, long LatencySamples, double? LatencyP50Ms, double? LatencyP95Ms, double? LatencyP99Ms);

public sealed record RuleHitCount(string Rule, long Count);

public sealed record KeyUsage(string KeyId, string TenantId, long Requests, long PromptTokens, long CompletionTokens);

public sealed record HourlySli(DateTimeOffset Hour, long Requests, long Incidents, double IncidentRate, double? LatencyP95Ms);
