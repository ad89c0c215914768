using System.ComponentModel.DataAnnotations;
using System.Runtime.Serialization;

namespace DaprLlm.Gateway.Quotas;

/// <summary>Limits of one quota holder (a key or a tenant). Burst is what may be admitted above the limit in a window.</summary>
[DataContract]
public sealed class QuotaLimits
{
    [DataMember, Range(1, 10_000_000)]
    public int RequestsPerMinute { get; set; } = 60;

    [DataMember, Range(1, 1_000_000_000)]
    public long TokensPerMinute { get; set; } = 40_000;

    [DataMember, Range(1, 100_000_000_000)]
    public long TokensPerDay { get; set; } = 1_000_000;

    [DataMember, Range(1, 100_000)]
    public int MaxConcurrentRequests { get; set; } = 8;

    [DataMember, Range(0, 10_000_000)]
    public int BurstRequests { get; set; } = 10;

    [DataMember, Range(0, 1_000_000_000)]
    public long BurstTokens { get; set; } = 8_000;

    public QuotaLimits Clone() => (QuotaLimits)MemberwiseClone();
}
