using Dapr.Actors.Runtime;

namespace DaprLlm.Gateway.Quotas;

/// <summary>
/// Fixed one-minute and one-day windows. A grant is charged when given; replicas return what they did not use.
/// Concurrency slots are leased per minute window too, so slots of a crashed replica come back when the minute ends.
/// Dapr runs one call at a time per actor, so the checks below need no locking.
/// </summary>
public sealed class QuotaActor(ActorHost host, TimeProvider time) : Actor(host), IQuotaActor
{
    private const string StateKey = "quota";

    public async Task<LeaseGrant> ExchangeAsync(LeaseExchange exchange)
    {
        var state = await LoadAsync();
        var limits = exchange.Limits;

        if (exchange.ReturnWindow == state.MinuteWindow)
        {
            state.RequestsCharged = Math.Max(0, state.RequestsCharged - exchange.ReturnRequests);
            state.TokensCharged = Math.Max(0, state.TokensCharged - exchange.ReturnTokens);
            state.SlotsHeld = Math.Max(0, state.SlotsHeld - exchange.ReturnSlots);
        }

        // Tokens leased but never used do not count toward today's total, whichever minute they were leased in.
        var dayCredit = (exchange.ReturnWindow * 60_000 / 86_400_000 == state.DayWindow ? exchange.ReturnTokens : 0) + exchange.ReturnDayTokens;
        state.DayTokensCharged = Math.Max(0, state.DayTokensCharged - dayCredit + exchange.ChargeTokens);
        state.TokensCharged += exchange.ChargeTokens;

        var grant = new LeaseGrant { Window = state.MinuteWindow };
        var requestRoom = limits.RequestsPerMinute + limits.BurstRequests - state.RequestsCharged;
        var tokenRoom = limits.TokensPerMinute + limits.BurstTokens - state.TokensCharged;
        var dayRoom = limits.TokensPerDay - state.DayTokensCharged;
        var slotRoom = limits.MaxConcurrentRequests - state.SlotsHeld;

        var asking = exchange.NeedRequests > 0 || exchange.NeedTokens > 0 || exchange.NeedSlots > 0;
        if (asking)
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
                grant.Granted = true;
                grant.Requests = (int)Math.Min(requestRoom, (long)exchange.NeedRequests + exchange.ExtraRequests);
                grant.Tokens = Math.Min(Math.Min(tokenRoom, dayRoom), exchange.NeedTokens + exchange.ExtraTokens);
                grant.Slots = exchange.NeedSlots;
                state.RequestsCharged += grant.Requests;
                state.TokensCharged += grant.Tokens;
                state.DayTokensCharged += grant.Tokens;
                state.SlotsHeld += grant.Slots;
            }
        }

        await StateManager.SetStateAsync(StateKey, state);
        return Describe(state, limits, grant);
    }

    public async Task<LeaseGrant> PeekAsync(QuotaLimits limits) => Describe(await LoadAsync(), limits, new LeaseGrant());

    private LeaseGrant Describe(QuotaState state, QuotaLimits limits, LeaseGrant grant)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        grant.Window = state.MinuteWindow;
        grant.RemainingRequests = Math.Max(0, limits.RequestsPerMinute - state.RequestsCharged);
        grant.RemainingTokens = Math.Max(0, limits.TokensPerMinute - state.TokensCharged);
        grant.RemainingDayTokens = Math.Max(0, limits.TokensPerDay - state.DayTokensCharged);
        grant.MinuteResetMs = (int)(60_000 - (now % 60_000));
        grant.DayResetMs = (int)(86_400_000 - (now % 86_400_000));
        grant.RequestsUsed = state.RequestsCharged;
        grant.TokensUsed = state.TokensCharged;
        grant.SlotsHeld = state.SlotsHeld;
        return grant;
    }

    private async Task<QuotaState> LoadAsync()
    {
        var stored = await StateManager.TryGetStateAsync<QuotaState>(StateKey);
        var state = stored.HasValue ? stored.Value : new QuotaState();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var minute = now / 60_000;
        var day = now / 86_400_000;
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

        return state;
    }
}
