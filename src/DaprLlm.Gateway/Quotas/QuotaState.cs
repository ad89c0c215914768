using System.Runtime.Serialization;

namespace DaprLlm.Gateway.Quotas;

/// <summary>The actor's persisted counters (charged = leased or used in the window).</summary>
[DataContract]
public sealed class QuotaState
{
    [DataMember] public long MinuteWindow { get; set; }

    [DataMember] public int RequestsCharged { get; set; }

    [DataMember] public long TokensCharged { get; set; }

    [DataMember] public long DayWindow { get; set; }

    [DataMember] public long DayTokensCharged { get; set; }

    [DataMember] public int SlotsHeld { get; set; }

    /// <summary>Per lease id, the last exchange applied and what it granted (<see cref="QuotaRules"/>); null in older state.</summary>
    [DataMember] public Dictionary<string, AppliedExchange>? Exchanges { get; set; }
}

/// <summary>A lease's last applied exchange and its grant, so a resend is answered again without being applied twice.</summary>
[DataContract]
public sealed class AppliedExchange
{
    [DataMember] public long Sequence { get; set; }

    /// <summary>When the lease was last heard from (Unix ms): leases quiet for long are forgotten.</summary>
    [DataMember] public long SeenMs { get; set; }

    [DataMember] public bool Granted { get; set; }

    [DataMember] public string? RefusalCode { get; set; }

    [DataMember] public long Window { get; set; }

    [DataMember] public int Requests { get; set; }

    [DataMember] public long Tokens { get; set; }

    [DataMember] public int Slots { get; set; }
}
