using System.Runtime.Serialization;
using Dapr.Actors;

namespace DaprLlm.Gateway.Quotas;

/// <summary>
/// One quota holder (actor id <c>key:{keyId}</c> or <c>tenant:{tenantId}</c>). Replicas lease allowance from it and
/// settle later; everything leased is charged at once, so the sum admitted by all replicas never exceeds limit + burst.
/// </summary>
public interface IQuotaActor : IActor
{
    /// <summary>Returns unused allowance and charges overruns, then grants what was asked (all of the minimum, or nothing).</summary>
    Task<LeaseGrant> ExchangeAsync(LeaseExchange exchange);

    /// <summary>The current windows' usage (for tests and the admin API).</summary>
    Task<LeaseGrant> PeekAsync(QuotaLimits limits);
}

/// <summary>What a replica gives back and asks for in one call.</summary>
[DataContract]
public sealed class LeaseExchange
{
    [DataMember] public QuotaLimits Limits { get; set; } = new();

    /// <summary>The minute window the returned allowance was leased in; returns for an older window only credit the day.</summary>
    [DataMember] public long ReturnWindow { get; set; }

    [DataMember] public int ReturnRequests { get; set; }

    [DataMember] public long ReturnTokens { get; set; }

    [DataMember] public int ReturnSlots { get; set; }

    /// <summary>Unused tokens leased in an earlier minute of today: they only credit the day total.</summary>
    [DataMember] public long ReturnDayTokens { get; set; }

    /// <summary>
    /// The UTC day (days since the epoch) <see cref="ReturnDayTokens"/> were charged to; returns for another day credit
    /// nothing (yesterday's leftovers must not make room today). 0: not said (an older gateway), credited as before.
    /// </summary>
    [DataMember] public long ReturnDay { get; set; }

    /// <summary>Tokens used beyond a reservation (the prompt estimate was low): charged, never refused.</summary>
    [DataMember] public long ChargeTokens { get; set; }

    [DataMember] public int NeedRequests { get; set; }

    [DataMember] public long NeedTokens { get; set; }

    [DataMember] public int NeedSlots { get; set; }

    /// <summary>Extra allowance wanted on top of the need, granted only when available (the local lease).</summary>
    [DataMember] public int ExtraRequests { get; set; }

    [DataMember] public long ExtraTokens { get; set; }

    /// <summary>Spare concurrency slots, so a replica whose concurrency rises does not call the actor for every new high.</summary>
    [DataMember] public int ExtraSlots { get; set; }

    /// <summary>
    /// The sending lease (random, one per lease object). With <see cref="Sequence"/> it names the exchange, so a resend
    /// whose first answer was lost is applied once. Null: an older gateway, applied every time as before.
    /// </summary>
    [DataMember] public string? LeaseId { get; set; }

    /// <summary>Counts the lease's exchanges from 1; a resend carries the same number (and the same figures).</summary>
    [DataMember] public long Sequence { get; set; }
}

/// <summary>The actor's answer: what was granted and what is left.</summary>
[DataContract]
public sealed class LeaseGrant
{
    [DataMember] public bool Granted { get; set; }

    /// <summary>rate_limit_exceeded or insufficient_quota when refused.</summary>
    [DataMember] public string? RefusalCode { get; set; }

    [DataMember] public long Window { get; set; }

    [DataMember] public int Requests { get; set; }

    [DataMember] public long Tokens { get; set; }

    [DataMember] public int Slots { get; set; }

    [DataMember] public int RemainingRequests { get; set; }

    [DataMember] public long RemainingTokens { get; set; }

    [DataMember] public long RemainingDayTokens { get; set; }

    [DataMember] public int MinuteResetMs { get; set; }

    [DataMember] public int DayResetMs { get; set; }

    [DataMember] public int RequestsUsed { get; set; }

    [DataMember] public long TokensUsed { get; set; }

    [DataMember] public int SlotsHeld { get; set; }
}
