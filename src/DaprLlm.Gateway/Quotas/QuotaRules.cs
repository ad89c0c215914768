namespace DaprLlm.Gateway.Quotas;

/// <summary>
/// The quota arithmetic of <see cref="QuotaActor"/>, pure so it can be tested without a sidecar. Fixed one-minute and
/// one-day windows; a grant is charged when given and replicas return what they did not use. Concurrency slots are
/// leased per minute window too, so the slots of a crashed replica come back when the minute ends.
/// </summary>
public static class QuotaRules
{
    /// <summary>
    /// How long a lease's last exchange is remembered after the lease was last heard from. One day is enough: a resend
    /// arriving later is applied again, but each return it carries is for a minute and a day that are over, which
    /// credit nothing (only an overrun would be charged twice: stricter, never looser). The second day is margin for
    /// clock differences between the hosts the actor moves between.
    /// </summary>
    public static readonly TimeSpan ForgetLeaseAfter = TimeSpan.FromDays(2);

    /// <summary>
    /// At most this many leases are remembered, the quietest forgotten first, so gateways restarting in a loop cannot
    /// grow the state saved on every call. A lease with a lost answer resends it before any new exchange (within a
    /// flush interval once the actor answers again): forgetting it first would take 128 other leases (replicas or
    /// restarts) exchanging with this actor in between.
    /// </summary>
    public const int MaxLeasesRemembered = 128;

    public static LeaseGrant Exchange(QuotaState state, LeaseExchange exchange, DateTimeOffset now)
    {
        Roll(state, now);
        if (Replay(state, exchange, now) is { } answered)
        {
            return answered;
        }

        var limits = exchange.Limits;
        if (exchange.ReturnWindow == state.MinuteWindow)
        {
            state.RequestsCharged = Math.Max(0, state.RequestsCharged - exchange.ReturnRequests);
            state.TokensCharged = Math.Max(0, state.TokensCharged - exchange.ReturnTokens);
            state.SlotsHeld = Math.Max(0, state.SlotsHeld - exchange.ReturnSlots);
        }

        // Tokens leased but never used do not count toward today's total, whichever minute they were leased in.
        var dayCredit = (exchange.ReturnWindow * 60_000 / 86_400_000 == state.DayWindow ? exchange.ReturnTokens : 0)
            + (exchange.ReturnDay == 0 || exchange.ReturnDay == state.DayWindow ? exchange.ReturnDayTokens : 0);
        state.DayTokensCharged = Math.Max(0, state.DayTokensCharged - dayCredit + exchange.ChargeTokens);
        state.TokensCharged += exchange.ChargeTokens;

        var grant = new LeaseGrant();
        var requestRoom = (long)limits.RequestsPerMinute + limits.BurstRequests - state.RequestsCharged;
        var tokenRoom = limits.TokensPerMinute + limits.BurstTokens - state.TokensCharged;
        var dayRoom = limits.TokensPerDay - state.DayTokensCharged;
        var slotRoom = limits.MaxConcurrentRequests - state.SlotsHeld;

        if (exchange.NeedRequests > 0 || exchange.NeedTokens > 0 || exchange.NeedSlots > 0)
        {
            if (exchange.NeedTokens > dayRoom)
            {
                grant.RefusalCode = "insufficient_quota";
            }
            else if (exchange.NeedRequests > requestRoom || exchange.NeedTokens > tokenRoom || exchange.NeedSlots > slotRoom)
            {
                grant.RefusalCode = "rate_limit_exceeded";
            }
            else
            {
                // All of the need, and as much of the extra (the lease) as is left.
                grant.Granted = true;
                grant.Requests = (int)Math.Min(requestRoom, (long)exchange.NeedRequests + exchange.ExtraRequests);
                grant.Tokens = Math.Min(Math.Min(tokenRoom, dayRoom), exchange.NeedTokens + exchange.ExtraTokens);
                grant.Slots = (int)Math.Min(slotRoom, (long)exchange.NeedSlots + exchange.ExtraSlots);
                state.RequestsCharged += grant.Requests;
                state.TokensCharged += grant.Tokens;
                state.DayTokensCharged += grant.Tokens;
                state.SlotsHeld += grant.Slots;
            }
        }

        Describe(state, limits, grant, now);
        Remember(state, exchange, grant, now);
        return grant;
    }

    public static LeaseGrant Describe(QuotaState state, QuotaLimits limits, LeaseGrant grant, DateTimeOffset now)
    {
        Roll(state, now);
        var ms = now.ToUnixTimeMilliseconds();
        grant.Window = state.MinuteWindow;
        grant.RemainingRequests = Math.Max(0, limits.RequestsPerMinute - state.RequestsCharged);
        grant.RemainingTokens = Math.Max(0, limits.TokensPerMinute - state.TokensCharged);
        grant.RemainingDayTokens = Math.Max(0, limits.TokensPerDay - state.DayTokensCharged);
        grant.MinuteResetMs = (int)(60_000 - (ms % 60_000));
        grant.DayResetMs = (int)(86_400_000 - (ms % 86_400_000));
        grant.RequestsUsed = state.RequestsCharged;
        grant.TokensUsed = state.TokensCharged;
        grant.SlotsHeld = state.SlotsHeld;
        return grant;
    }

    // A resend of an exchange already applied (its answer was lost, or the call was retried): answered with what was
    // granted then, nothing applied again. Null when the exchange is new (or from a gateway that sends no lease id).
    private static LeaseGrant? Replay(QuotaState state, LeaseExchange exchange, DateTimeOffset now)
    {
        if (exchange.LeaseId is not { } id || state.Exchanges is null || !state.Exchanges.TryGetValue(id, out var applied)
            || exchange.Sequence > applied.Sequence)
        {
            return null;
        }

        applied.SeenMs = now.ToUnixTimeMilliseconds();
        var grant = Describe(state, exchange.Limits, new LeaseGrant(), now);
        if (exchange.Sequence < applied.Sequence)
        {
            // An older call delayed on the way: its lease has had that answer and moved on, so it gets nothing.
            return grant;
        }

        (grant.Granted, grant.RefusalCode, grant.Requests, grant.Tokens, grant.Slots) =
            (applied.Granted, applied.RefusalCode, applied.Requests, applied.Tokens, applied.Slots);
        if (applied.Window != grant.Window)
        {
            // Granted in a minute that has ended: the lease takes it as expired (its tokens then credit their day).
            grant.Window = applied.Window;
            grant.MinuteResetMs = 0;
        }

        return grant;
    }

    private static void Remember(QuotaState state, LeaseExchange exchange, LeaseGrant grant, DateTimeOffset now)
    {
        if (exchange.LeaseId is not { } id)
        {
            return;
        }

        var ms = now.ToUnixTimeMilliseconds();
        var exchanges = state.Exchanges ??= new(StringComparer.Ordinal);
        exchanges[id] = new AppliedExchange
        {
            Sequence = exchange.Sequence,
            SeenMs = ms,
            Granted = grant.Granted,
            RefusalCode = grant.RefusalCode,
            Window = grant.Window,
            Requests = grant.Requests,
            Tokens = grant.Tokens,
            Slots = grant.Slots,
        };

        foreach (var (lease, applied) in exchanges)
        {
            if (ms - applied.SeenMs > (long)ForgetLeaseAfter.TotalMilliseconds)
            {
                exchanges.Remove(lease);
            }
        }

        while (exchanges.Count > MaxLeasesRemembered)
        {
            exchanges.Remove(exchanges.MinBy(e => e.Value.SeenMs).Key);
        }
    }

    private static void Roll(QuotaState state, DateTimeOffset now)
    {
        var ms = now.ToUnixTimeMilliseconds();
        var minute = ms / 60_000;
        var day = ms / 86_400_000;
        if (state.MinuteWindow != minute)
        {
            state.MinuteWindow = minute;
            state.RequestsCharged = 0;
            state.TokensCharged = 0;
            state.SlotsHeld = 0;
        }

        if (state.DayWindow != day)
        {
            state.DayWindow = day;
            state.DayTokensCharged = 0;
        }
    }
}
