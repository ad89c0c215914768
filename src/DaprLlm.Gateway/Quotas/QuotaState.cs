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
}
