using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Caching;

/// <summary>Exact response cache settings (section "Cache"), validated at start.</summary>
public sealed class CacheOptions
{
    public const string Section = "Cache";

    public bool Enabled { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Most entries kept per replica (oldest go first).</summary>
    [Range(1, 10_000_000)]
    public int MaxEntries { get; set; } = 10_000;
}
