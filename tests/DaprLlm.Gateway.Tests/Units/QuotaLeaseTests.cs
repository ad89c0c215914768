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
