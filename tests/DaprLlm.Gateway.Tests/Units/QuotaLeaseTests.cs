using Dapr.Actors;
using Dapr.Actors.Client;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Quotas;
using DaprLlm.Gateway.Tenants;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>The local lease against an in-memory actor with the real QuotaActor rules (no sidecar).</summary>
public sealed class QuotaLeaseTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 2, 10, 0, 5, TimeSpan.Zero));

    [Fact]
    public async Task Leases_of_many_replicas_never_admit_more_than_limit_plus_burst()
    {
        var actor = new LocalQuotaActor(_time);
        var limits = new QuotaLimits { RequestsPerMinute = 50, BurstRequests = 10, TokensPerMinute = 1_000_000, TokensPerDay = 10_000_000, MaxConcurrentRequests = 10_000 };
        var replicas = Enumerable.Range(0, 5).Select(i => new QuotaLease($"r{i}", actor) { Limits = limits }).ToList();

        var admitted = 0;
        for (var i = 0; i < 500; i++)
        {
            var lease = replicas[i % replicas.Count];
            var window = lease.TryTake(10, _time.GetUtcNow()) ?? (await lease.AcquireAsync(10, 16, _time, CancellationToken.None)).Window;
            if (window is { } w)
            {
                admitted++;
                lease.Release(w, 10, 10, _time.GetUtcNow());
            }
        }

        Assert.InRange(admitted, 50, 60);
        Assert.Equal(60, actor.State.RequestsCharged);
    }

    [Fact]
    public async Task Unused_reservations_and_idle_allowance_go_back_so_the_actor_holds_only_real_usage()
    {
        var actor = new LocalQuotaActor(_time);
        var lease = new QuotaLease("k", actor) { Limits = new QuotaLimits { TokensPerMinute = 10_000, BurstTokens = 0, TokensPerDay = 100_000 } };
        var (window, _) = await lease.AcquireAsync(1_000, 16, _time, CancellationToken.None);
        Assert.NotNull(window);
        lease.Release(window.Value, reserved: 1_000, used: 120, _time.GetUtcNow());

        _time.Advance(TimeSpan.FromSeconds(3));
        await lease.FlushAsync(_time, TimeSpan.FromSeconds(2));
        Assert.Equal(120, actor.State.TokensCharged);
        Assert.Equal(120, actor.State.DayTokensCharged);
        Assert.Equal(0, actor.State.SlotsHeld);
    }

    [Fact]
    public async Task Tokens_left_over_from_yesterday_never_make_room_today()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 23, 59, 50, TimeSpan.Zero));
        var actor = new LocalQuotaActor(time);
        var limits = new QuotaLimits { TokensPerMinute = 10_000, BurstTokens = 0, TokensPerDay = 1_000 };
        var late = new QuotaLease("late", actor) { Limits = limits };
        var early = new QuotaLease("early", actor) { Limits = limits };
        var (yesterday, _) = await late.AcquireAsync(500, 16, time, CancellationToken.None);
        Assert.NotNull(yesterday);

        // After midnight another replica takes most of today's tokens; then the late request ends unused.
        time.Advance(TimeSpan.FromSeconds(20));
        var (today, _) = await early.AcquireAsync(800, 16, time, CancellationToken.None);
        Assert.NotNull(today);
        var chargedToday = actor.State.DayTokensCharged;
        late.Release(yesterday.Value, reserved: 500, used: 0, time.GetUtcNow());
        time.Advance(TimeSpan.FromSeconds(3));
        await late.FlushAsync(time, TimeSpan.FromSeconds(2));

        // Credited today, yesterday's 500 let another 500 through past the 1,000 a day.
        Assert.Equal(chargedToday, actor.State.DayTokensCharged);
        Assert.Null((await late.AcquireAsync(500, 16, time, CancellationToken.None)).Window);
    }

    [Fact]
    public async Task Usage_beyond_the_reservation_is_charged_at_the_next_settle()
    {
        var actor = new LocalQuotaActor(_time);
        var lease = new QuotaLease("k", actor) { Limits = new QuotaLimits() };
        var (window, _) = await lease.AcquireAsync(100, 16, _time, CancellationToken.None);
        lease.Release(window!.Value, reserved: 100, used: 150, _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(3));
        await lease.FlushAsync(_time, TimeSpan.FromSeconds(2));
        Assert.Equal(150, actor.State.TokensCharged);
    }

    [Fact]
    public async Task The_daily_token_quota_refuses_with_insufficient_quota()
    {
        var actor = new LocalQuotaActor(_time);
        var lease = new QuotaLease("k", actor) { Limits = new QuotaLimits { TokensPerDay = 50 } };
        var (window, grant) = await lease.AcquireAsync(100, 16, _time, CancellationToken.None);
        Assert.Null(window);
        Assert.Equal("insufficient_quota", grant.RefusalCode);
        Assert.True(grant.DayResetMs > 0);
    }

    [Fact]
    public async Task Concurrency_slots_are_limited_across_leases_and_freed_when_idle()
    {
        var actor = new LocalQuotaActor(_time);
        var limits = new QuotaLimits { MaxConcurrentRequests = 2 };
        var a = new QuotaLease("a", actor) { Limits = limits };
        var b = new QuotaLease("b", actor) { Limits = limits };
        var w1 = (await a.AcquireAsync(1, 16, _time, CancellationToken.None)).Window;
        var w2 = (await b.AcquireAsync(1, 16, _time, CancellationToken.None)).Window;
        var (w3, refused) = await a.AcquireAsync(1, 16, _time, CancellationToken.None);
        Assert.NotNull(w1);
        Assert.NotNull(w2);
        Assert.Null(w3);
        Assert.Equal("rate_limit_exceeded", refused.RefusalCode);

        b.Release(w2!.Value, 1, 1, _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(3));
        await b.FlushAsync(_time, TimeSpan.FromSeconds(2));
        Assert.NotNull((await a.AcquireAsync(1, 16, _time, CancellationToken.None)).Window);
    }

    [Fact]
    public async Task A_lease_keeps_spare_slots_so_rising_concurrency_does_not_call_the_actor_per_request()
    {
        var actor = new LocalQuotaActor(_time);
        var lease = new QuotaLease("k", actor) { Limits = new QuotaLimits { RequestsPerMinute = 16_000, TokensPerMinute = 1_600_000, TokensPerDay = 100_000_000, MaxConcurrentRequests = 160 } };
        Assert.NotNull((await lease.AcquireAsync(1, 16, _time, CancellationToken.None)).Window);
        Assert.Equal(1, actor.Calls);

        // 160 / 16 = 10 spare slots: ten more requests run at once from the lease alone.
        for (var i = 0; i < 10; i++)
        {
            Assert.NotNull(lease.TryTake(1, _time.GetUtcNow()));
        }

        Assert.Null(lease.TryTake(1, _time.GetUtcNow()));
        Assert.Equal(1, actor.Calls);
        Assert.Equal(11, actor.State.SlotsHeld);

        // The spare slots are still the actor's to count: an idle lease gives all of them back.
        _time.Advance(TimeSpan.FromSeconds(3));
        for (var i = 0; i < 11; i++)
        {
            lease.Release(actor.State.MinuteWindow, 1, 1, _time.GetUtcNow());
        }

        _time.Advance(TimeSpan.FromSeconds(3));
        await lease.FlushAsync(_time, TimeSpan.FromSeconds(2));
        Assert.Equal(0, actor.State.SlotsHeld);
    }

    [Fact]
    public async Task The_request_that_called_the_actor_keeps_what_was_granted_for_it_when_others_arrive_meanwhile()
    {
        // 15 / 16 = no spare slots: each grant is exactly what the asking request needs, as for small tiers.
        var limits = new QuotaLimits { MaxConcurrentRequests = 15 };
        var clock = new HookedClock(_time);
        var actor = new LocalQuotaActor(clock);
        var lease = new QuotaLease("k", actor) { Limits = limits };

        // Once the actor has answered, every clock read lets a request that just arrived try the fast path first:
        // it stands for the other requests of a warming replica, which take from the lease without waiting.
        var thief = 0;
        clock.OnRead = () =>
        {
            if (actor.Calls > 0 && thief == 0 && lease.TryTake(1, _time.GetUtcNow()) is not null)
            {
                thief = 1;
            }
        };

        var (window, grant) = await lease.AcquireAsync(1, 16, clock, CancellationToken.None);
        clock.OnRead = null;

        Assert.True(grant.Granted);
        Assert.NotNull(window);
        Assert.Equal(0, thief);
        Assert.Equal(1, actor.State.SlotsHeld);
    }

    [Fact]
    public async Task A_tenant_quota_that_fails_gives_back_the_key_request_and_slot()
    {
        var limits = new QuotaLimits { RequestsPerMinute = 1_000, MaxConcurrentRequests = 15 };
        var options = Options.Create(new QuotaOptions { LeaseDivisor = 16 });
        options.Value.Tiers[Tiers.Pro] = limits;
        var keyActor = new LocalQuotaActor(_time);
        var actors = new Actors(id => id.StartsWith("key:", StringComparison.Ordinal) ? keyActor : new FailingActor());
        var quotas = new QuotaService(actors, options, _time);
        var tenant = new Tenant("t1", Tiers.Pro, "eu", ["eu"], [], null, Tiers.PolicyWindow, _time.GetUtcNow());
        var caller = new Caller(new ApiKeyRecord("key00001", "t1", "k", "s", "h", _time.GetUtcNow()), tenant);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await quotas.AdmitAsync(caller, 10, CancellationToken.None));

        // The key granted exactly one slot (no spare at 15 / 16): it is free again, so the lease serves the next
        // request by itself. Before, the slot stayed "in flight" on this replica for good.
        var key = quotas.Leases.Single(l => l.ActorId == "key:key00001");
        Assert.NotNull(key.TryTake(10, _time.GetUtcNow()));
        Assert.Equal(1, keyActor.Calls);
    }

    [Fact]
    public async Task A_lease_running_low_is_topped_up_in_the_background_so_steady_requests_never_call_the_actor()
    {
        var actor = new LocalQuotaActor(_time);
        var limits = new QuotaLimits { RequestsPerMinute = 1_600, BurstRequests = 0, TokensPerMinute = 1_000_000, TokensPerDay = 10_000_000, MaxConcurrentRequests = 1_000 };
        var lease = new QuotaLease("k", actor) { Limits = limits };
        lease.RefreshAhead(_time, 16, TimeSpan.FromSeconds(2));
        var first = (await lease.AcquireAsync(1, 16, _time, CancellationToken.None)).Window!.Value;
        lease.Release(first, 1, 1, _time.GetUtcNow());

        // A lease is 1,600 / 16 = 100 requests; 250 more requests in a row are served from it alone (no AcquireAsync),
        // because each time it falls below half a lease the actor is asked in the background.
        for (var i = 0; i < 250; i++)
        {
            var window = lease.TryTake(1, _time.GetUtcNow()) ?? await WaitForTakeAsync(lease);
            lease.Release(window, 1, 1, _time.GetUtcNow());
        }

        Assert.InRange(actor.Calls, 3, 6);

        // Exact all the same: once the idle lease gives back what it holds, the actor has charged exactly what was used.
        // (A top-up may still be on its way; the settle waits its turn.)
        _time.Advance(TimeSpan.FromSeconds(3));
        await PollAsync(() =>
        {
            lease.FlushAsync(_time, TimeSpan.FromSeconds(2)).GetAwaiter().GetResult();
            return actor.State.RequestsCharged == 251 && actor.State.SlotsHeld == 0;
        }, () => $"charged {actor.State.RequestsCharged} requests, {actor.State.SlotsHeld} slots");
    }

    [Fact]
    public async Task A_lease_in_use_is_renewed_when_its_minute_ends_and_an_idle_one_is_not()
    {
        var actor = new LocalQuotaActor(_time);
        var limits = new QuotaLimits { RequestsPerMinute = 1_600, TokensPerMinute = 1_000_000, TokensPerDay = 10_000_000, MaxConcurrentRequests = 1_000 };
        var busy = new QuotaLease("busy", actor) { Limits = limits };
        var idle = new QuotaLease("idle", actor) { Limits = limits };
        busy.RefreshAhead(_time, 16, TimeSpan.FromSeconds(2));
        idle.RefreshAhead(_time, 16, TimeSpan.FromSeconds(2));
        var w1 = (await busy.AcquireAsync(1, 16, _time, CancellationToken.None)).Window!.Value;
        var w2 = (await idle.AcquireAsync(1, 16, _time, CancellationToken.None)).Window!.Value;
        idle.Release(w2, 1, 1, _time.GetUtcNow());

        // 10:00:05 -> one second before the minute ends the busy lease is still used; then the minute turns.
        _time.Advance(TimeSpan.FromSeconds(54));
        busy.Release(w1, 1, 1, _time.GetUtcNow());
        var calls = actor.Calls;
        _time.Advance(TimeSpan.FromSeconds(1));
        await PollAsync(() => actor.Calls == calls + 1);

        // The new minute's lease is already there: the next request takes from it without calling the actor.
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds() / 60_000, busy.TryTake(1, _time.GetUtcNow()));
        Assert.Null(idle.TryTake(1, _time.GetUtcNow()));
        Assert.Equal(calls + 1, actor.Calls);
    }

    [Fact]
    public async Task Leases_refreshed_ahead_on_many_replicas_never_admit_more_than_limit_plus_burst()
    {
        var actor = new LocalQuotaActor(_time);
        var limits = new QuotaLimits { RequestsPerMinute = 500, BurstRequests = 100, TokensPerMinute = 10_000_000, TokensPerDay = 100_000_000, MaxConcurrentRequests = 10_000 };
        var replicas = Enumerable.Range(0, 5).Select(i => new QuotaLease($"r{i}", actor) { Limits = limits }).ToList();
        replicas.ForEach(r => r.RefreshAhead(_time, 16, TimeSpan.FromSeconds(2)));

        var admitted = 0;
        for (var i = 0; i < 2_000; i++)
        {
            var lease = replicas[i % replicas.Count];
            var window = lease.TryTake(10, _time.GetUtcNow()) ?? (await lease.AcquireAsync(10, 16, _time, CancellationToken.None)).Window;
            if (window is { } w)
            {
                admitted++;
                lease.Release(w, 10, 10, _time.GetUtcNow());
            }
        }

        Assert.InRange(admitted, 500, 600);
        Assert.InRange(actor.State.RequestsCharged, admitted, 600);
    }

    [Fact]
    public async Task A_settle_whose_answer_was_lost_is_sent_again_and_never_credits_the_day_twice()
    {
        var actor = new LosingActor(new LocalQuotaActor(_time));
        var limits = new QuotaLimits { TokensPerMinute = 100_000, BurstTokens = 0, TokensPerDay = 1_000 };
        var a = new QuotaLease("a", actor) { Limits = limits };
        var b = new QuotaLease("b", actor) { Limits = limits };
        var (held, _) = await a.AcquireAsync(1_000, 16, _time, CancellationToken.None);
        a.Release(held!.Value, reserved: 1_000, used: 0, _time.GetUtcNow());

        // The idle lease gives its 1,000 tokens back; the actor credits them, then the answer is lost.
        _time.Advance(TimeSpan.FromSeconds(3));
        actor.LoseNext = 1;
        await Assert.ThrowsAsync<TimeoutException>(() => a.FlushAsync(_time, TimeSpan.FromSeconds(2)));
        Assert.Equal(0, actor.State.DayTokensCharged);

        // Another replica uses the whole day; then the first settles again.
        var (used, _) = await b.AcquireAsync(1_000, 16, _time, CancellationToken.None);
        b.Release(used!.Value, reserved: 1_000, used: 1_000, _time.GetUtcNow());
        await a.FlushAsync(_time, TimeSpan.FromSeconds(2));

        // Credited a second time, the 1,000 tokens let another 1,000 through past the 1,000 a day.
        Assert.Equal(1_000, actor.State.DayTokensCharged);
        Assert.Equal("insufficient_quota", (await b.AcquireAsync(1_000, 16, _time, CancellationToken.None)).Grant.RefusalCode);
    }

    [Fact]
    public async Task An_overrun_whose_settle_answer_was_lost_is_charged_once()
    {
        var actor = new LosingActor(new LocalQuotaActor(_time));
        var lease = new QuotaLease("k", actor) { Limits = new QuotaLimits() };
        var (window, _) = await lease.AcquireAsync(100, 16, _time, CancellationToken.None);
        lease.Release(window!.Value, reserved: 100, used: 150, _time.GetUtcNow());

        _time.Advance(TimeSpan.FromSeconds(3));
        actor.LoseNext = 1;
        await Assert.ThrowsAsync<TimeoutException>(() => lease.FlushAsync(_time, TimeSpan.FromSeconds(2)));
        await lease.FlushAsync(_time, TimeSpan.FromSeconds(2));

        Assert.Equal((150L, 150L), (actor.State.TokensCharged, actor.State.DayTokensCharged));
    }

    [Fact]
    public async Task A_grant_whose_answer_was_lost_is_taken_up_by_the_resend_so_no_allowance_is_lost()
    {
        // 2 / 16 = no spare requests: each grant is the one request asked for.
        var actor = new LosingActor(new LocalQuotaActor(_time));
        var lease = new QuotaLease("k", actor) { Limits = new QuotaLimits { RequestsPerMinute = 2, BurstRequests = 0 } };
        actor.LoseNext = 1;
        await Assert.ThrowsAsync<TimeoutException>(() => lease.AcquireAsync(10, 16, _time, CancellationToken.None));
        Assert.Equal(1, actor.State.RequestsCharged);

        // The first request's grant comes back with the resend: both requests a minute are admitted, not one.
        var admitted = 0;
        for (var i = 0; i < 3; i++)
        {
            admitted += (await lease.AcquireAsync(10, 16, _time, CancellationToken.None)).Window is null ? 0 : 1;
        }

        Assert.Equal(2, admitted);
        Assert.Equal(2, actor.State.RequestsCharged);
    }

    [Fact]
    public async Task Replicas_whose_answers_are_often_lost_stay_within_the_limit_and_settle_to_exactly_what_was_used()
    {
        // Every third actor call is applied and its answer lost (acquires, top-ups, settles and resends alike).
        var actor = new LosingActor(new LocalQuotaActor(_time)) { LoseEvery = 3 };
        var limits = new QuotaLimits { RequestsPerMinute = 40, BurstRequests = 5, TokensPerMinute = 1_000_000, TokensPerDay = 2_000, MaxConcurrentRequests = 100 };
        var replicas = Enumerable.Range(0, 3).Select(i => new QuotaLease($"r{i}", actor) { Limits = limits }).ToList();
        var (admitted, used) = (0, 0L);
        for (var round = 0; round < 6; round++)
        {
            for (var i = 0; i < 20; i++)
            {
                var lease = replicas[i % replicas.Count];
                try
                {
                    if ((lease.TryTake(100, _time.GetUtcNow()) ?? (await lease.AcquireAsync(100, 4, _time, CancellationToken.None)).Window) is { } w)
                    {
                        (admitted, used) = (admitted + 1, used + 50);
                        lease.Release(w, reserved: 100, used: 50, _time.GetUtcNow());
                    }
                }
                catch (TimeoutException)
                {
                    // Answered 503: nothing admitted.
                }
            }

            _time.Advance(TimeSpan.FromSeconds(3));
            foreach (var lease in replicas)
            {
                try
                {
                    await lease.FlushAsync(_time, TimeSpan.FromSeconds(2));
                }
                catch (TimeoutException)
                {
                    // Sent again before the lease's next exchange.
                }
            }
        }

        // The actor answers again: each lease's next settle resends what was lost, then gives back what it holds.
        actor.LoseEvery = 0;
        foreach (var lease in replicas)
        {
            await lease.FlushAsync(_time, TimeSpan.FromSeconds(2));
        }

        // The day's 2,000 tokens bound (up to 60 requests of 50 were tried); once every lost answer was resent and every
        // idle lease settled, the actor holds exactly the usage: nothing credited twice, no grant lost.
        Assert.InRange(used, 1_000, 2_000);
        Assert.Equal(used, actor.State.DayTokensCharged);
        Assert.Equal(used, actor.State.TokensCharged);
        Assert.Equal(admitted, actor.State.RequestsCharged);
        Assert.Equal(0, actor.State.SlotsHeld);
    }

    // The background top-up may still be on its way when the lease runs dry: the request then waits for the exchange
    // (single-flight) as any request on the slow path would, and must not need a call of its own.
    private async Task<long> WaitForTakeAsync(QuotaLease lease)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (lease.TryTake(1, _time.GetUtcNow()) is { } window)
            {
                return window;
            }

            await Task.Delay(1);
        }

        throw new TimeoutException("the lease was not topped up in the background");
    }

    private static async Task PollAsync(Func<bool> condition, Func<string>? state = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not become true within 10 s " + state?.Invoke());
            await Task.Delay(5);
        }
    }

    /// <summary>A clock that runs a hook on every read (to interleave another request at a chosen point).</summary>
    private sealed class HookedClock(TimeProvider inner) : TimeProvider
    {
        public Action? OnRead { get; set; }

        public override DateTimeOffset GetUtcNow()
        {
            OnRead?.Invoke();
            return inner.GetUtcNow();
        }
    }

    private sealed class FailingActor : IQuotaActor
    {
        public Task<LeaseGrant> ExchangeAsync(LeaseExchange exchange) => throw new InvalidOperationException("the actor's host did not answer");

        public Task<LeaseGrant> PeekAsync(QuotaLimits limits) => throw new InvalidOperationException("the actor's host did not answer");
    }

    private sealed class Actors(Func<string, IQuotaActor> byId) : IActorProxyFactory
    {
        public TActorInterface CreateActorProxy<TActorInterface>(ActorId actorId, string actorType, ActorProxyOptions? options = null)
            where TActorInterface : IActor => (TActorInterface)byId(actorId.GetId());

        public object CreateActorProxy(ActorId actorId, Type actorInterfaceType, string actorType, ActorProxyOptions? options = null) => byId(actorId.GetId());

        public ActorProxy Create(ActorId actorId, string actorType, ActorProxyOptions? options = null) => throw new NotSupportedException();
    }

    /// <summary>An actor whose answer is lost after it applied the exchange and saved (a timeout or reset on the way back).</summary>
    private sealed class LosingActor(LocalQuotaActor inner) : IQuotaActor
    {
        private int _calls;

        public QuotaState State => inner.State;

        /// <summary>Loses the next this many answers.</summary>
        public int LoseNext { get; set; }

        /// <summary>Loses every n-th answer (0: none).</summary>
        public int LoseEvery { get; set; }

        public async Task<LeaseGrant> ExchangeAsync(LeaseExchange exchange)
        {
            var grant = await inner.ExchangeAsync(exchange);
            _calls++;
            if (LoseNext > 0 || (LoseEvery > 0 && _calls % LoseEvery == 0))
            {
                LoseNext = Math.Max(0, LoseNext - 1);
                throw new TimeoutException("the actor's answer was lost");
            }

            return grant;
        }

        public Task<LeaseGrant> PeekAsync(QuotaLimits limits) => inner.PeekAsync(limits);
    }

    /// <summary>The QuotaActor's rules over a plain field instead of actor state (same arithmetic via <see cref="QuotaRules"/>).</summary>
    private sealed class LocalQuotaActor(TimeProvider time) : IQuotaActor
    {
        public QuotaState State { get; } = new();

        public int Calls { get; private set; }

        public Task<LeaseGrant> ExchangeAsync(LeaseExchange exchange)
        {
            Calls++;
            return Task.FromResult(QuotaRules.Exchange(State, exchange, time.GetUtcNow()));
        }

        public Task<LeaseGrant> PeekAsync(QuotaLimits limits) => Task.FromResult(QuotaRules.Describe(State, limits, new LeaseGrant(), time.GetUtcNow()));
    }
}
