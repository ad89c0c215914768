using System.Text.Json;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;

namespace DaprLlm.Audit.Reports;

/// <summary>Counts over a period, per region: requests, refusals, reviews, admin actions, and the rates derived from them.</summary>
public sealed record ComplianceReport(
    IReadOnlyList<string> Regions,
    DateTimeOffset From,
    DateTimeOffset To,
    long Records,
    long Requests,
    long RefusedInput,
    long FilteredOutput,
    long ReviewsCreated,
    long ReviewsDecided,
    long AdminActions,
    long Erasures,
    double BlockRate,
    SortedDictionary<string, long> ByEventType,
    SortedDictionary<string, long> ByTenant,
    SortedDictionary<string, long> ByRegion,
    SortedDictionary<string, long> ByOutcome,
    SortedDictionary<string, long> ByCategory)
{
    /// <summary>Aggregates the hot records of the given stores recorded in [from, to), optionally of one tenant.</summary>
    public static async Task<ComplianceReport> BuildAsync(IEnumerable<IAuditStore> stores, DateTimeOffset from, DateTimeOffset to, string? tenantId, CancellationToken cancellationToken)
    {
        var byType = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byTenant = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byRegion = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byOutcome = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byCategory = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long records = 0, requests = 0, refused = 0, filtered = 0, created = 0, decided = 0, admin = 0, erasures = 0;
        var regions = new List<string>();
        long fromMs = from.ToUnixTimeMilliseconds(), toMs = to.ToUnixTimeMilliseconds();
        foreach (var store in stores)
        {
            regions.Add(store.Region);
            await foreach (var record in store.ReadAsync(1, long.MaxValue, cancellationToken))
            {
                if (record.RecordedAtMs < fromMs || record.RecordedAtMs >= toMs || (tenantId is not null && record.Entry.TenantId != tenantId))
                {
                    continue;
                }

                var e = record.Entry;
                records++;
                Bump(byType, e.EventType);
                Bump(byTenant, e.TenantId);
                Bump(byRegion, e.Region);
                using var content = JsonDocument.Parse(e.Content);
                var root = content.RootElement;
                if (Text(root, "category") is { } category)
                {
                    Bump(byCategory, category);
                }

                switch (e.EventType)
                {
                    case Topics.RequestCompleted:
                        requests++;
                        var outcome = Text(root, "outcome") ?? "unknown";
                        Bump(byOutcome, outcome);
                        refused += outcome == RequestCompletedV1.Outcomes.RefusedInput ? 1 : 0;
                        filtered += outcome == RequestCompletedV1.Outcomes.FilteredOutput ? 1 : 0;
                        break;
                    case Topics.ReviewCreated:
                        created++;
                        break;
                    case Topics.ReviewDecided:
                        decided++;
                        break;
                    case Topics.AdminAction:
                        admin++;
                        break;
                    case Privacy.SubjectService.ErasureEventType:
                        erasures++;
                        break;
                }
            }
        }

        var blockRate = requests == 0 ? 0 : (double)(refused + filtered) / requests;
        return new ComplianceReport(regions, from, to, records, requests, refused, filtered, created, decided, admin, erasures, blockRate,
            byType, byTenant, byRegion, byOutcome, byCategory);
    }

    private static void Bump(SortedDictionary<string, long> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;

    private static string? Text(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
