namespace DaprLlm.Audit.Alerts;

/// <summary>
/// Counts safety triggers per key ("category" and "tenant/category") in fixed buckets and, when a bucket closes,
/// compares its count with the key's learned baseline: an exponentially weighted mean and variance of past buckets.
/// The score is z = (count − mean) / √(variance + mean + 1): the mean term is the Poisson noise floor, so quiet keys
/// need a real jump, and the +1 keeps a zero baseline finite. Anomalous buckets do not feed the baseline, so an
/// incident cannot teach the detector that it is normal. One hit of a critical category is critical at once.
/// Not thread-safe: the caller serializes access.
/// </summary>
public sealed class AnomalyDetector(AlertOptions options)
{
    private readonly Dictionary<string, KeyState> _keys = new(StringComparer.Ordinal);

    /// <summary>Counts one trigger at <paramref name="at"/>; returns the alerts of buckets this closes plus any immediate critical.</summary>
    public List<Alert> Observe(string category, string? tenantId, DateTimeOffset at)
    {
        var alerts = Tick(at);
        foreach (var key in KeysOf(category, tenantId))
        {
            var state = State(key.Key, category, key.Tenant, at);
            state.Count++;
        }

        if (options.CriticalCategories.Contains(category, StringComparer.OrdinalIgnoreCase))
        {
            alerts.Add(new Alert(Guid.NewGuid().ToString("N"), Alert.Critical, "critical/" + category, category, tenantId, 1, 0, null, at,
                $"A '{category}' trigger was recorded{(tenantId is null ? "" : $" for tenant {tenantId}")}: this category is always critical."));
        }

        return alerts;
    }

    /// <summary>Closes every bucket that ended by <paramref name="now"/> and returns the alerts they raise.</summary>
    public List<Alert> Tick(DateTimeOffset now)
    {
        var alerts = new List<Alert>();
        foreach (var state in _keys.Values)
        {
            while (state.BucketStart + options.Bucket <= now)
            {
                if (Close(state) is { } alert)
                {
                    alerts.Add(alert);
                }

                state.BucketStart += options.Bucket;
                state.Count = 0;
            }
        }

        return alerts;
    }

    private Alert? Close(KeyState state)
    {
        var count = state.Count;
        var z = (count - state.Mean) / Math.Sqrt(state.Variance + state.Mean + 1);
        var warmed = state.Buckets >= options.WarmupBuckets;
        var severity = !warmed || count < options.MinCount ? null
            : z >= options.CriticalZ ? Alert.Critical
            : z >= options.WarningZ ? Alert.Warning
            : null;
        if (severity is null)
        {
            // Learn only from normal buckets.
            var delta = count - state.Mean;
            state.Mean += options.EwmaAlpha * delta;
            state.Variance = (1 - options.EwmaAlpha) * (state.Variance + options.EwmaAlpha * delta * delta);
            state.Buckets++;
            return null;
        }

        var end = state.BucketStart + options.Bucket;
        return new Alert(Guid.NewGuid().ToString("N"), severity, state.Key, state.Category, state.Tenant, count, Math.Round(state.Mean, 2), Math.Round(z, 2), end,
            $"{count} '{state.Category}' triggers in {options.Bucket.TotalSeconds:0}s{(state.Tenant is null ? "" : $" for tenant {state.Tenant}")} against a baseline of {state.Mean:0.0} (z = {z:0.0}).");
    }

    private KeyState State(string key, string category, string? tenant, DateTimeOffset at)
    {
        if (!_keys.TryGetValue(key, out var state))
        {
            var start = DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds() / (long)options.Bucket.TotalMilliseconds * (long)options.Bucket.TotalMilliseconds);
            state = new KeyState(key, category, tenant) { BucketStart = start };
            _keys[key] = state;
        }

        return state;
    }

    private static IEnumerable<(string Key, string? Tenant)> KeysOf(string category, string? tenantId)
    {
        yield return ("category/" + category, null);
        if (tenantId is not null)
        {
            yield return ($"tenant/{tenantId}/{category}", tenantId);
        }
    }

    private sealed class KeyState(string key, string category, string? tenant)
    {
        public string Key { get; } = key;
        public string Category { get; } = category;
        public string? Tenant { get; } = tenant;
        public DateTimeOffset BucketStart { get; set; }
        public long Count { get; set; }
        public double Mean { get; set; }
        public double Variance { get; set; }
        public int Buckets { get; set; }
    }
}
