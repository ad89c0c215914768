using System.Text.Json;
using Dapr.Actors.Runtime;
using DaprLlm.Gateway.Quotas;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>The actor's side of idempotent exchanges (<see cref="QuotaRules"/>): a resend is answered, never applied twice.</summary>
public sealed class QuotaExchangeTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 10, 0, 5, TimeSpan.Zero);
    private static readonly QuotaLimits Limits = new() { RequestsPerMinute = 10, BurstRequests = 0, TokensPerMinute = 1_000, BurstTokens = 0, TokensPerDay = 5_000 };

    [Fact]
    public void A_resent_exchange_is_answered_with_its_first_grant_and_changes_nothing()
    {
        var state = Charged(requests: 4, tokens: 600);
        var first = QuotaRules.Exchange(state, Settle("lease-a", 1), Now);
        var after = Counters(state);

        var again = QuotaRules.Exchange(state, Settle("lease-a", 1), Now.AddSeconds(2));

        Assert.True(first.Granted);
        Assert.Equal((first.Granted, first.Window, first.Requests, first.Tokens, first.Slots), (again.Granted, again.Window, again.Requests, again.Tokens, again.Slots));
        Assert.Equal(after, Counters(state));

        // The first exchange returned 2 requests and 100 tokens, charged 30 tokens and was granted 3 requests, 200 tokens.
        Assert.Equal((4 - 2 + 3, 600L - 100 + 30 + 200), (state.RequestsCharged, state.TokensCharged));
    }

    [Fact]
    public void A_refusal_is_answered_again_as_a_refusal_even_when_room_was_made_meanwhile()
    {
        var state = Charged(requests: 10, tokens: 0);
        var exchange = new LeaseExchange { Limits = Limits, NeedRequests = 1, LeaseId = "lease-a", Sequence = 1 };
        Assert.Equal("rate_limit_exceeded", QuotaRules.Exchange(state, exchange, Now).RefusalCode);
        QuotaRules.Exchange(state, new LeaseExchange { Limits = Limits, ReturnWindow = state.MinuteWindow, ReturnRequests = 5, LeaseId = "lease-b", Sequence = 1 }, Now);

        var again = QuotaRules.Exchange(state, exchange, Now);

        Assert.False(again.Granted);
        Assert.Equal("rate_limit_exceeded", again.RefusalCode);
        Assert.Equal(5, state.RequestsCharged);
    }

    [Fact]
    public void A_grant_resent_after_its_minute_ended_is_answered_as_expired_and_the_new_minute_is_not_charged()
    {
        var state = new QuotaState();
        var exchange = new LeaseExchange { Limits = Limits, NeedRequests = 1, NeedTokens = 100, LeaseId = "lease-a", Sequence = 1 };
        var first = QuotaRules.Exchange(state, exchange, Now);

        var late = QuotaRules.Exchange(state, exchange, Now.AddMinutes(1));

        Assert.True(late.Granted);
        Assert.Equal((first.Window, first.Requests, first.Tokens, 0), (late.Window, late.Requests, late.Tokens, late.MinuteResetMs));
        Assert.Equal((first.Window + 1, 0, 0L), (state.MinuteWindow, state.RequestsCharged, state.TokensCharged));
    }

    [Fact]
    public void The_next_exchange_of_a_lease_is_applied_and_an_older_one_arriving_late_is_not()
    {
        var state = Charged(requests: 4, tokens: 600);
        QuotaRules.Exchange(state, Settle("lease-a", 1), Now);
        QuotaRules.Exchange(state, Settle("lease-a", 2), Now);
        var twice = Counters(state);
        Assert.Equal((4 - 2 + 3 - 2 + 3, 600L + 2 * (-100 + 30 + 200)), (state.RequestsCharged, state.TokensCharged));

        var stale = QuotaRules.Exchange(state, Settle("lease-a", 1), Now);

        Assert.False(stale.Granted);
        Assert.Equal(twice, Counters(state));
    }

    [Fact]
    public void Exchanges_without_a_lease_id_from_an_older_gateway_are_applied_each_time_as_before()
    {
        var state = Charged(requests: 4, tokens: 600);
        QuotaRules.Exchange(state, Settle(null, 0), Now);
        QuotaRules.Exchange(state, Settle(null, 0), Now);

        Assert.Equal((4 + 2 * (-2 + 3), 600L + 2 * (-100 + 30 + 200)), (state.RequestsCharged, state.TokensCharged));
        Assert.Null(state.Exchanges);
    }

    [Fact]
    public void State_saved_before_lease_ids_existed_still_loads_and_then_remembers_them()
    {
        // As the actor runtime serializes state (System.Text.Json with its options), without the Exchanges member.
        var json = JsonSerializer.Serialize(Charged(requests: 4, tokens: 600), new ActorRuntimeOptions().JsonSerializerOptions).Replace(",\"exchanges\":null", "", StringComparison.Ordinal);
        Assert.DoesNotContain("exchanges", json, StringComparison.Ordinal);
        var state = JsonSerializer.Deserialize<QuotaState>(json, new ActorRuntimeOptions().JsonSerializerOptions)!;

        QuotaRules.Exchange(state, Settle("lease-a", 1), Now);
        var saved = JsonSerializer.Deserialize<QuotaState>(JsonSerializer.Serialize(state, new ActorRuntimeOptions().JsonSerializerOptions), new ActorRuntimeOptions().JsonSerializerOptions)!;
        var after = Counters(saved);
        QuotaRules.Exchange(saved, Settle("lease-a", 1), Now);

        Assert.Equal(after, Counters(saved));
    }

    [Fact]
    public void Leases_quiet_for_over_two_days_are_forgotten_and_at_most_128_are_remembered()
    {
        var state = new QuotaState();
        QuotaRules.Exchange(state, Settle("old", 1), Now);
        QuotaRules.Exchange(state, Settle("recent", 1), Now.AddDays(1));
        QuotaRules.Exchange(state, Settle("new", 1), Now.AddDays(2).AddSeconds(1));
        Assert.Equal(new[] { "new", "recent" }, state.Exchanges!.Keys.Order());

        for (var i = 0; i < 200; i++)
        {
            QuotaRules.Exchange(state, Settle($"l{i}", 1), Now.AddDays(2).AddSeconds(2 + i));
        }

        Assert.Equal(128, state.Exchanges!.Count);
        Assert.Contains("l199", state.Exchanges.Keys);
        Assert.DoesNotContain("recent", state.Exchanges.Keys);
    }

    private static LeaseExchange Settle(string? leaseId, long sequence) => new()
    {
        Limits = Limits,
        LeaseId = leaseId,
        Sequence = sequence,
        ReturnWindow = Now.ToUnixTimeMilliseconds() / 60_000,
        ReturnRequests = 2,
        ReturnTokens = 100,
        ChargeTokens = 30,
        NeedRequests = 1,
        NeedTokens = 100,
        ExtraRequests = 2,
        ExtraTokens = 100,
    };

    private static QuotaState Charged(int requests, long tokens)
    {
        var state = new QuotaState();
        QuotaRules.Exchange(state, new LeaseExchange { Limits = Limits }, Now);
        (state.RequestsCharged, state.TokensCharged, state.DayTokensCharged) = (requests, tokens, tokens);
        return state;
    }

    private static (long Minute, int Requests, long Tokens, long Day, int Slots) Counters(QuotaState s) =>
        (s.MinuteWindow, s.RequestsCharged, s.TokensCharged, s.DayTokensCharged, s.SlotsHeld);
}
