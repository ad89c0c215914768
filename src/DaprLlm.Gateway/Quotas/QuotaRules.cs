namespace DaprLlm.Gateway.Quotas;

/// <summary>
/// The quota arithmetic of <see cref="QuotaActor"/>, pure so it can be tested without a sidecar. Fixed one-minute and
/// one-day windows; a grant is charged when given and replicas return what they did not use. Concurrency slots are
/// leased per minute window too, so the slots of a crashed replica come back when the minute ends.
/// </summary>
public static class QuotaRules
{
    public static LeaseGrant Exchange(QuotaState state, LeaseExchange exchange, DateTimeOffset now)
    {
        Roll(state, now);
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

        return Describe(state, limits, grant, now);
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
