namespace DaprLlm.Audit.Alerts;

/// <summary>
/// Counts safety triggers per key ("category" and "tenant/category") over a sliding window (<see cref="AlertOptions.Bucket"/>
/// wide) kept as a ring of short slices (<see cref="AlertOptions.Step"/>): each time a slice closes, the window that ends
/// there is compared with the key's learned baseline, an exponentially weighted mean and variance of past windows. A
/// spike is counted whole wherever it starts, instead of being cut in two by a fixed bucket boundary.
/// The score is z = (count − mean) / √(variance + mean + 1): the mean term is the Poisson noise floor, so quiet keys
/// need a real jump, and the +1 keeps a zero baseline finite. Anomalous windows do not feed the baseline, so an
/// incident cannot teach the detector that it is normal. One hit of a critical category is critical at once.
/// Not thread-safe: the caller serializes access.
/// </summary>
public sealed class AnomalyDetector(AlertOptions options)
{
    // Below this a learned mean or variance is noise next to the Poisson floor (+1) of the z-score.
    private const double SettledBaseline = 1e-6;

    private readonly Dictionary<string, KeyState> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dormant = new(StringComparer.Ordinal);
    private readonly TimeSpan _step = StepOf(options);

    // Slices per window, and the smoothing per slide that forgets past windows as fast as EwmaAlpha does per window.
    private readonly int _slices = SlicesOf(options);
    private readonly double _alpha = 1 - Math.Pow(1 - options.EwmaAlpha, 1.0 / SlicesOf(options));

    private static TimeSpan StepOf(AlertOptions o) => o.Step <= TimeSpan.Zero || o.Step > o.Bucket ? o.Bucket : o.Step;

    private static int SlicesOf(AlertOptions o) => Math.Max(1, (int)Math.Round(o.Bucket / StepOf(o)));

    /// <summary>
    /// Counts one trigger of a record stored in <paramref name="region"/> at <paramref name="at"/>; returns the alerts
    /// of buckets this closes plus any immediate critical.
    /// </summary>
    public List<Alert> Observe(string category, string? tenantId, string region, DateTimeOffset at)
    {
        // Only the keys this trigger counts against are brought up to date here (constant work per event however
        // many tenants there are); every other key closes its slices on the caller's timer (Tick).
        var alerts = new List<Alert>();
        foreach (var key in KeysOf(category, tenantId))
        {
            var state = State(key.Key, category, key.Tenant, at);
            CatchUp(state, at, alerts);
            state.Slices[state.Head]++;
            state.Window++;
            state.Regions.Add(region);
        }

        if (options.CriticalCategories.Contains(category, StringComparer.OrdinalIgnoreCase))
        {
            alerts.Add(new Alert(Guid.NewGuid().ToString("N"), Alert.Critical, "critical/" + category, category, tenantId, 1, 0, null, at,
                $"A '{category}' trigger was recorded{(tenantId is null ? "" : $" for tenant {tenantId}")}: this category is always critical.")
            {
                Regions = [region],
            });
        }

        return alerts;
    }

    /// <summary>Closes every slice that ended by <paramref name="now"/> and returns the alerts their windows raise.</summary>
    public List<Alert> Tick(DateTimeOffset now)
    {
        var alerts = new List<Alert>();
        List<string>? settled = null;
        foreach (var state in _keys.Values)
        {
            CatchUp(state, now, alerts);
            if (IsSettled(state))
            {
                (settled ??= []).Add(state.Key);
            }
        }

        // A key whose baseline has decayed to nothing holds no information a fresh warmed key would not: keep only its
        // name, so tenants that went quiet cost a string rather than a ring, a queue and a timer walk each.
        foreach (var key in settled ?? [])
        {
            if (_keys.Remove(key, out var state) && state.Learned >= (long)options.WarmupBuckets * _slices)
            {
                _dormant.Add(key);
            }
        }

        return alerts;
    }

    /// <summary>Keys with live state (a settled key is kept only as a name).</summary>
    public int TrackedKeys => _keys.Count;

    private void CatchUp(KeyState state, DateTimeOffset now, List<Alert> alerts)
    {
        while (state.SliceStart + _step <= now)
        {
            if (IsSettled(state))
            {
                // Nothing left to learn or to slide: an idle key jumps to now at once instead of closing one
                // empty slice per step (a day is 8,640 of them at 10 s).
                var skipped = (now - state.SliceStart).Ticks / _step.Ticks;
                state.SliceStart += _step * skipped;
                state.Learned += skipped;
                return;
            }

            if (Close(state) is { } alert)
            {
                alerts.Add(alert);
            }

            // Slide: the oldest slice leaves the window and its place starts the next one.
            state.SliceStart += _step;
            state.Head = (state.Head + 1) % _slices;
            state.Window -= state.Slices[state.Head];
            state.Slices[state.Head] = 0;
        }
    }

    // Empty window, nothing pending but zeros and a baseline so small that learning more zeros cannot change a verdict.
    private static bool IsSettled(KeyState state)
    {
        if (state.Window != 0 || state.Mean > SettledBaseline || state.Variance > SettledBaseline)
        {
            return false;
        }

        foreach (var pending in state.Pending)
        {
            if (pending != 0)
            {
                return false;
            }
        }

        return true;
    }

    private Alert? Close(KeyState state)
    {
        var count = state.Window;
        var z = (count - state.Mean) / Math.Sqrt(state.Variance + state.Mean + 1);
        var warmed = state.Learned >= options.WarmupBuckets * _slices;
        var severity = !warmed || count < options.MinCount ? null
            : z >= options.CriticalZ ? Alert.Critical
            : z >= options.WarningZ ? Alert.Warning
            : null;
        if (severity is null)
        {
            // Learn only from normal windows, and only a window's length later: overlapping windows on the rise of a
            // spike look normal at first, and learning them at once would lift the baseline the spike is judged by.
            state.Pending.Enqueue(count);
            if (state.Pending.Count > _slices)
            {
                var delta = state.Pending.Dequeue() - state.Mean;
                state.Mean += _alpha * delta;
                state.Variance = (1 - _alpha) * (state.Variance + _alpha * delta * delta);
                state.Learned++;
            }

            return null;
        }

        // The windows not yet learned were the rise of this incident: never learn them.
        state.Pending.Clear();

        var end = state.SliceStart + _step;
        return new Alert(Guid.NewGuid().ToString("N"), severity, state.Key, state.Category, state.Tenant, count, Math.Round(state.Mean, 2), Math.Round(z, 2), end,
            $"{count} '{state.Category}' triggers in {options.Bucket.TotalSeconds:0}s{(state.Tenant is null ? "" : $" for tenant {state.Tenant}")} against a baseline of {state.Mean:0.0} (z = {z:0.0}).")
        {
            // Every region that fed the key's baseline or window: its count and baseline are made of their records.
            Regions = [.. state.Regions],
        };
    }

    private KeyState State(string key, string category, string? tenant, DateTimeOffset at)
    {
        if (!_keys.TryGetValue(key, out var state))
        {
            var step = (long)_step.TotalMilliseconds;
            var start = DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds() / step * step);
            // A dormant key comes back warmed with its (zero) baseline, as if it had never been put away.
            var learned = _dormant.Remove(key) ? (long)options.WarmupBuckets * _slices : 0;
            state = new KeyState(key, category, tenant, _slices) { SliceStart = start, Learned = learned };
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

    private sealed class KeyState(string key, string category, string? tenant, int slices)
    {
        public string Key { get; } = key;
        public string Category { get; } = category;
        public string? Tenant { get; } = tenant;
        public long[] Slices { get; } = new long[slices];
        public Queue<long> Pending { get; } = new();
        public int Head { get; set; }
        public DateTimeOffset SliceStart { get; set; }
        public long Window { get; set; }
        public double Mean { get; set; }
        public double Variance { get; set; }
        public long Learned { get; set; }
        public SortedSet<string> Regions { get; } = new(StringComparer.Ordinal);
    }
}
