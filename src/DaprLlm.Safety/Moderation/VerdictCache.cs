using System.Collections.Concurrent;
using DaprLlm.Contracts.Safety;
using DaprLlm.Safety.Classification;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// Verdicts for identical content under the same policy version. The key carries the policy version, so a policy
/// change invalidates every cached verdict without a purge. Bounded: when full it starts over, which is cheap and
/// keeps the hot set after a short warm-up.
/// </summary>
public sealed class VerdictCache(int capacity)
{
    private readonly ConcurrentDictionary<string, CachedCheck> _entries = new(StringComparer.Ordinal);

    public static string Key(string direction, string tenant, string policyVersion, string contentHash) =>
        $"{direction}|{tenant}|{policyVersion}|{contentHash}";

    public bool TryGet(string key, out CachedCheck check) => _entries.TryGetValue(key, out check!);

    public void Set(string key, CachedCheck check)
    {
        if (capacity == 0)
        {
            return;
        }

        if (_entries.Count >= capacity)
        {
            _entries.Clear();
        }

        _entries[key] = check;
    }
}

/// <summary>A cached verdict with the assessment it came from (telemetry reports the cached decision's categories).</summary>
public sealed record CachedCheck(ModerationVerdict Verdict, SafetyAssessment Assessment);
