using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Audit.Alerts;

/// <summary>Real-time safety alerting (section "Audit:Alerts").</summary>
public sealed class AlertOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Width of the sliding window over which trigger rates are counted and compared.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Bucket { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How far the window slides at a time (a divisor of <see cref="Bucket"/>; equal to it gives fixed windows).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Step { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>EWMA smoothing of the learned baseline (mean and variance per key).</summary>
    [Range(0.01, 1.0)]
    public double EwmaAlpha { get; set; } = 0.2;

    /// <summary>Windows of history a key needs before its rate can be judged (cold keys do not alert on drift).</summary>
    [Range(1, 10_000)]
    public int WarmupBuckets { get; set; } = 5;

    [Range(1.0, 100.0)]
    public double WarningZ { get; set; } = 4;

    [Range(1.0, 1000.0)]
    public double CriticalZ { get; set; } = 10;

    /// <summary>A bucket needs at least this many triggers to alert at all (no alerts on 1 → 3).</summary>
    [Range(1, 1_000_000)]
    public int MinCount { get; set; } = 5;

    /// <summary>After an alert on a key, further anomalies on it within this window are folded into that alert.</summary>
    public TimeSpan Dedup { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Categories where a single hit is critical.</summary>
    public List<string> CriticalCategories { get; set; } = [];

    /// <summary>Dapr state store that keeps the alert history and acknowledgements across restarts.</summary>
    [Required]
    public string HistoryStateStore { get; set; } = DaprLlm.Contracts.DaprComponents.StateStore;

    /// <summary>Dapr output bindings (bindings.http) that receive alerts, with the payload shape each expects.</summary>
    public List<AlertBinding> Bindings { get; set; } = [];

    public void ApplyDefaults()
    {
        if (CriticalCategories.Count == 0)
        {
            CriticalCategories.Add("sexual/minors");
        }
    }
}

/// <summary>One webhook: a Dapr output binding name and its format ("slack" or "pagerduty").</summary>
public sealed class AlertBinding
{
    [Required]
    public string Name { get; set; } = "";

    [Required, RegularExpression("^(slack|pagerduty)$")]
    public string Format { get; set; } = "slack";

    /// <summary>PagerDuty routing key (from configuration; in production a secret reference).</summary>
    public string? RoutingKey { get; set; }
}
