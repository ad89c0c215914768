using System.Globalization;
using System.Text.Json;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;

namespace DaprLlm.Audit.Reports;

/// <summary>
/// Builds a <see cref="ComplianceReport"/> from the hot records of some stores. Any event type counts in the totals;
/// the known topics add their own figures. Fields are read by name, so a payload that grows a field (or an event type
/// this build does not know yet) never breaks a report. Records are joined by request id (a refusal's category comes
/// from the moderation decision of the same request) and by review id (creation → decision for the SLA).
/// A record belongs to a period, and to an hour of it, by when audit recorded it (the chain's time, which every record
/// has): an event delivered late, or sent without a time, is still counted inside the period that selected it.
/// </summary>
public static class ComplianceReportBuilder
{
    private const string Uncategorized = SafetyCategory.Uncategorized;
    private const int TopRules = 10;

    /// <summary>Aggregates the hot records of the given stores recorded in [from, to), optionally of one tenant.</summary>
    public static async Task<ComplianceReport> BuildAsync(IEnumerable<IAuditStore> stores, DateTimeOffset from, DateTimeOffset to, string? tenantId, CancellationToken cancellationToken)
    {
        var regions = new List<string>();
        var records = new List<AuditRecord>();
        long fromMs = from.ToUnixTimeMilliseconds(), toMs = to.ToUnixTimeMilliseconds();
        foreach (var store in stores)
        {
            regions.Add(store.Region);
            await foreach (var record in store.ReadAsync(1, long.MaxValue, cancellationToken))
            {
                if (record.RecordedAtMs >= fromMs && record.RecordedAtMs < toMs && (tenantId is null || record.Entry.TenantId == tenantId))
                {
                    records.Add(record);
                }
            }
        }

        return Aggregate(regions, from, to, records);
    }

    /// <summary>The report of a known set of records (what <see cref="BuildAsync"/> selected).</summary>
    public static ComplianceReport Aggregate(IReadOnlyList<string> regions, DateTimeOffset from, DateTimeOffset to, IReadOnlyList<AuditRecord> records)
    {
        var c = new Counts();
        var parsed = new List<(AuditEntry Entry, long RecordedAtMs, JsonElement Content)>(records.Count);
        // Pass 1: what later records are joined against (moderation categories, request starts).
        foreach (var record in records)
        {
            var entry = record.Entry;
            using var document = JsonDocument.Parse(entry.Content);
            var root = document.RootElement.Clone();
            parsed.Add((entry, record.RecordedAtMs, root));
            var requestId = Text(root, "requestId");
            if (entry.EventType == Topics.ModerationDecided && requestId is not null && !SafetyCategory.IsApiCheck(root)
                && SafetyCategory.Of(root) is { } flagged && !SafetyCategory.IsAllow(SafetyCategory.Action(root)))
            {
                c.ModerationCategory[requestId] = flagged;
            }
            else if (entry.EventType == Topics.RequestReceived && requestId is not null)
            {
                c.ReceivedAt.TryAdd(requestId, entry.OccurredAtMs);
            }
        }

        // Pass 2: the counts.
        foreach (var (e, recordedAtMs, root) in parsed)
        {
            c.Records++;
            Bump(c.ByType, e.EventType);
            Bump(c.ByTenant, e.TenantId);
            Bump(c.ByRegion, e.Region);
            // A classification call through /v1/moderations is counted on its own (ModerationApiByAction): the texts a
            // client screens are not its traffic's safety figures.
            var apiCheck = e.EventType == Topics.ModerationDecided && SafetyCategory.IsApiCheck(root);
            if (!apiCheck && SafetyCategory.Of(root) is { } category)
            {
                Bump(c.ByCategory, category);
            }

            switch (e.EventType)
            {
                case Topics.RequestReceived:
                    c.Received++;
                    break;
                case Topics.RequestCompleted:
                    CountCompleted(c, e, recordedAtMs, root);
                    break;
                case Topics.ModerationDecided when apiCheck:
                    Bump(c.ModerationApiByAction, SafetyCategory.Action(root) ?? "unknown");
                    break;
                case Topics.ModerationDecided:
                    Bump(c.ModerationByAction, SafetyCategory.Action(root) ?? "unknown");
                    foreach (var rule in Strings(root, "ruleHits").Concat(Strings(root, "rules")))
                    {
                        Bump(c.RuleHits, rule);
                    }

                    break;
                case Topics.ReviewCreated:
                    CountReviewCreated(c, e, root);
                    break;
                case Topics.ReviewDecided:
                    if (Text(root, "reviewId") is { } decidedId)
                    {
                        c.ReviewDecided[decidedId] = Time(root, "decidedAt") ?? DateTimeOffset.FromUnixTimeMilliseconds(e.OccurredAtMs);
                    }

                    break;
                case Topics.AdminAction:
                    c.Admin++;
                    Bump(c.AdminByAction, Text(root, "action") ?? "unknown");
                    break;
                case Privacy.SubjectService.ErasureEventType:
                    c.Erasures++;
                    break;
            }
        }

        return Build(regions, from, to, c);
    }

    private static void CountCompleted(Counts c, AuditEntry e, long recordedAtMs, JsonElement root)
    {
        c.Requests++;
        Bump(c.RequestsByTenant, e.TenantId);
        Bump(c.RequestsByRegion, e.Region);
        var outcome = Text(root, "outcome") ?? "unknown";
        Bump(c.ByOutcome, outcome);
        var requestId = Text(root, "requestId");
        var refused = outcome is RequestCompletedV1.Outcomes.RefusedInput or RequestCompletedV1.Outcomes.FilteredOutput;
        c.RefusedInput += outcome == RequestCompletedV1.Outcomes.RefusedInput ? 1 : 0;
        c.FilteredOutput += outcome == RequestCompletedV1.Outcomes.FilteredOutput ? 1 : 0;
        if (refused)
        {
            Bump(c.RefusalsByCategory, SafetyCategory.Of(root) ?? (requestId is not null ? c.ModerationCategory.GetValueOrDefault(requestId) : null) ?? Uncategorized);
            Bump(c.RefusalsByTenant, e.TenantId);
            Bump(c.RefusalsByRegion, e.Region);
        }

        double? latency = Number(root, "latencyMs");
        if (latency is null && requestId is not null && c.ReceivedAt.TryGetValue(requestId, out var receivedMs) && e.OccurredAtMs >= receivedMs)
        {
            latency = e.OccurredAtMs - receivedMs;
        }

        if (latency is { } ms)
        {
            c.Latencies.Add(ms);
        }

        // The hour it was recorded in, as the period was selected: its event time may lie outside the period, or be missing.
        var hour = new DateTimeOffset(recordedAtMs / 3_600_000 * 3_600_000 * TimeSpan.TicksPerMillisecond + DateTimeOffset.UnixEpoch.Ticks, TimeSpan.Zero);
        if (!c.Hours.TryGetValue(hour, out var bucket))
        {
            c.Hours[hour] = bucket = new HourBucket();
        }

        bucket.Requests++;
        bucket.Incidents += refused ? 1 : 0;
        if (latency is { } l)
        {
            bucket.Latencies.Add(l);
        }

        if (Text(root, "keyId") is { Length: > 0 } keyId)
        {
            var usage = c.Keys.GetValueOrDefault((keyId, e.TenantId));
            c.Keys[(keyId, e.TenantId)] = (usage.Requests + 1, usage.Prompt + (long)(Number(root, "promptTokens") ?? 0), usage.Completion + (long)(Number(root, "completionTokens") ?? 0));
        }
    }

    private static void CountReviewCreated(Counts c, AuditEntry e, JsonElement root)
    {
        var reviewId = Text(root, "reviewId") ?? e.EventId;
        var created = Time(root, "createdAt") ?? DateTimeOffset.FromUnixTimeMilliseconds(e.OccurredAtMs);
        var deadline = Time(root, "slaDeadline");
        if (c.ReviewCreated.TryGetValue(reviewId, out var first))
        {
            // An escalation re-enters the senior queue: same item, later deadline (the one its decision is held to).
            c.ReviewCreated[reviewId] = (first.Created, deadline ?? first.Deadline);
            return;
        }

        c.ReviewCreated[reviewId] = (created, deadline);
        var requestId = Text(root, "requestId");
        Bump(c.ReviewsByCategory, SafetyCategory.Of(root) ?? (requestId is not null ? c.ModerationCategory.GetValueOrDefault(requestId) : null) ?? Uncategorized);
        Bump(c.ReviewsByTenant, e.TenantId);
        Bump(c.ReviewsByRegion, e.Region);
    }

    private static ComplianceReport Build(IReadOnlyList<string> regions, DateTimeOffset from, DateTimeOffset to, Counts c)
    {
        long within = 0, breached = 0, overdue = 0;
        var minutes = new List<double>();
        foreach (var (id, (created, deadline)) in c.ReviewCreated)
        {
            if (c.ReviewDecided.TryGetValue(id, out var decided))
            {
                minutes.Add((decided - created).TotalMinutes);
                if (deadline is { } d)
                {
                    (decided <= d ? ref within : ref breached)++;
                }
            }
            else if (deadline is { } d && d < to)
            {
                overdue++;
            }
        }

        // What a compliance reader asks is "of the items that were due, how many were decided in time": an item still
        // open past its deadline is a breach, and with nothing due there is no rate to give (null, not 100 %).
        var due = within + breached + overdue;
        var incidents = c.RefusedInput + c.FilteredOutput;
        return new ComplianceReport
        {
            Regions = regions,
            From = from,
            To = to,
            Records = c.Records,
            Requests = c.Requests,
            RequestsReceived = c.Received,
            RefusedInput = c.RefusedInput,
            FilteredOutput = c.FilteredOutput,
            ReviewsCreated = c.ReviewCreated.Count,
            ReviewsDecided = c.ReviewDecided.Count,
            AdminActions = c.Admin,
            Erasures = c.Erasures,
            BlockRate = Rate(incidents, c.Requests),
            ReviewRate = Rate(c.ReviewCreated.Count, c.Requests),
            ReviewSla = new ReviewSla(within + breached, within, breached, due == 0 ? null : (double)within / due, overdue,
                Percentile(minutes, 0.50), Percentile(minutes, 0.95)),
            Safety = new SafetySli(incidents, Rate(incidents, c.Requests), c.Latencies.Count,
                Percentile(c.Latencies, 0.50), Percentile(c.Latencies, 0.95), Percentile(c.Latencies, 0.99)),
            ByEventType = c.ByType,
            ByTenant = c.ByTenant,
            ByRegion = c.ByRegion,
            ByOutcome = c.ByOutcome,
            ByCategory = c.ByCategory,
            RequestsByTenant = c.RequestsByTenant,
            RequestsByRegion = c.RequestsByRegion,
            RefusalsByCategory = c.RefusalsByCategory,
            RefusalsByTenant = c.RefusalsByTenant,
            RefusalsByRegion = c.RefusalsByRegion,
            ReviewsByCategory = c.ReviewsByCategory,
            ReviewsByTenant = c.ReviewsByTenant,
            ReviewsByRegion = c.ReviewsByRegion,
            ModerationByAction = c.ModerationByAction,
            ModerationApiByAction = c.ModerationApiByAction,
            AdminActionsByAction = c.AdminByAction,
            TopRuleHits = [.. c.RuleHits.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).Take(TopRules).Select(r => new RuleHitCount(r.Key, r.Value))],
            KeyUsage = [.. c.Keys.OrderByDescending(k => k.Value.Requests).ThenBy(k => k.Key.KeyId, StringComparer.Ordinal)
                .Select(k => new KeyUsage(k.Key.KeyId, k.Key.TenantId, k.Value.Requests, k.Value.Prompt, k.Value.Completion))],
            Hourly = [.. c.Hours.Select(h => new HourlySli(h.Key, h.Value.Requests, h.Value.Incidents, Rate(h.Value.Incidents, h.Value.Requests), Percentile(h.Value.Latencies, 0.95)))],
        };
    }

    /// <summary>Nearest-rank percentile; null without samples.</summary>
    internal static double? Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return null;
        }

        values.Sort();
        return values[Math.Clamp((int)Math.Ceiling(p * values.Count) - 1, 0, values.Count - 1)];
    }

    private static double Rate(long part, long whole) => whole == 0 ? 0 : (double)part / whole;

    private static void Bump(SortedDictionary<string, long> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;

    private static string? Text(JsonElement root, string name) => SafetyCategory.Text(root, name);

    // A literal beyond double's range reads as infinity, which the report's JSON cannot hold: such a value is ignored.
    private static double? Number(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number
            && v.TryGetDouble(out var number) && double.IsFinite(number) ? number : null;

    private static DateTimeOffset? Time(JsonElement root, string name) =>
        DateTimeOffset.TryParse(Text(root, name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    private static IEnumerable<string> Strings(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.String).Select(i => i.GetString()!)
            : [];

    private sealed class HourBucket
    {
        public long Requests;
        public long Incidents;
        public readonly List<double> Latencies = [];
    }

    private sealed class Counts
    {
        public long Records, Requests, Received, RefusedInput, FilteredOutput, Admin, Erasures;
        public readonly SortedDictionary<string, long> ByType = new(StringComparer.Ordinal), ByTenant = new(StringComparer.Ordinal), ByRegion = new(StringComparer.Ordinal),
            ByOutcome = new(StringComparer.Ordinal), ByCategory = new(StringComparer.Ordinal), RequestsByTenant = new(StringComparer.Ordinal),
            RequestsByRegion = new(StringComparer.Ordinal), RefusalsByCategory = new(StringComparer.Ordinal), RefusalsByTenant = new(StringComparer.Ordinal),
            RefusalsByRegion = new(StringComparer.Ordinal), ReviewsByCategory = new(StringComparer.Ordinal), ReviewsByTenant = new(StringComparer.Ordinal),
            ReviewsByRegion = new(StringComparer.Ordinal), ModerationByAction = new(StringComparer.Ordinal), ModerationApiByAction = new(StringComparer.Ordinal), AdminByAction = new(StringComparer.Ordinal),
            RuleHits = new(StringComparer.Ordinal);
        public readonly Dictionary<string, string> ModerationCategory = new(StringComparer.Ordinal);
        public readonly Dictionary<string, long> ReceivedAt = new(StringComparer.Ordinal);
        public readonly Dictionary<string, (DateTimeOffset Created, DateTimeOffset? Deadline)> ReviewCreated = new(StringComparer.Ordinal);
        public readonly Dictionary<string, DateTimeOffset> ReviewDecided = new(StringComparer.Ordinal);
        public readonly Dictionary<(string KeyId, string TenantId), (long Requests, long Prompt, long Completion)> Keys = [];
        public readonly SortedDictionary<DateTimeOffset, HourBucket> Hours = [];
        public readonly List<double> Latencies = [];
    }
}
