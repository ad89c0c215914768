using System.Collections.Concurrent;
using Dapr.Actors;
using Dapr.Actors.Client;
using DaprLlm.Gateway.Auth;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Quotas;

/// <summary>
/// Admission against the caller's key quota and its tenant's shared quota. Reserves one request, a slot and
/// prompt + max tokens; the returned ticket settles the real usage when the response ends.
/// </summary>
public sealed class QuotaService(IActorProxyFactory actors, IOptions<QuotaOptions> options, TimeProvider time)
{
    public const string ActorType = nameof(QuotaActor);

    private readonly ConcurrentDictionary<string, QuotaLease> _leases = new();

    public IEnumerable<QuotaLease> Leases => _leases.Values;

    public async ValueTask<QuotaDecision> AdmitAsync(Caller caller, long tokens, CancellationToken ct)
    {
        var key = Lease($"key:{caller.KeyId}", options.Value.ForKey(caller.Tenant));
        var tenant = Lease($"tenant:{caller.TenantId}", options.Value.ForTenant(caller.Tenant));

        var (keyWindow, keyRefusal) = await TakeAsync(key, tokens, ct);
        if (keyWindow is null)
        {
            return QuotaDecision.Refused(key, keyRefusal!);
        }

        long? tenantWindow;
        LeaseGrant? tenantRefusal;
        try
        {
            (tenantWindow, tenantRefusal) = await TakeAsync(tenant, tokens, ct);
        }
        catch
        {
            // The tenant's actor did not answer (or the client left): the key's request and slot go back, or this
            // replica would count a request in flight forever and run short of slots for the key.
            key.Undo(keyWindow.Value, tokens, time.GetUtcNow());
            throw;
        }

        if (tenantWindow is null)
        {
            key.Undo(keyWindow.Value, tokens, time.GetUtcNow());
            return QuotaDecision.Refused(key, tenantRefusal!);
        }

        return QuotaDecision.Admitted(key, new QuotaTicket(time, tokens, (key, keyWindow.Value), (tenant, tenantWindow.Value)));
    }

    private async ValueTask<(long? Window, LeaseGrant? Refusal)> TakeAsync(QuotaLease lease, long tokens, CancellationToken ct)
    {
        if (lease.TryTake(tokens, time.GetUtcNow()) is { } window)
        {
            return (window, null);
        }

        // A grant can be taken by a concurrent request before this one uses it: try again while the actor still grants.
        for (var attempt = 0; ; attempt++)
        {
            var (taken, grant) = await lease.AcquireAsync(tokens, options.Value.LeaseDivisor, time, ct);
            if (taken is { } w)
            {
                return (w, null);
            }

            if (!grant.Granted || attempt == 3)
            {
                grant.RefusalCode ??= "rate_limit_exceeded";
                return (null, grant);
            }
        }
    }

    private QuotaLease Lease(string actorId, QuotaLimits limits)
    {
        var lease = _leases.GetOrAdd(actorId, id => new QuotaLease(id, actors.CreateActorProxy<IQuotaActor>(new ActorId(id), ActorType)));
        lease.Limits = limits;
        return lease;
    }
}

/// <summary>The outcome of admission; the key's lease feeds the x-ratelimit-* headers either way.</summary>
public sealed record QuotaDecision(QuotaLease KeyLease, QuotaTicket? Ticket, LeaseGrant? Refusal)
{
    public static QuotaDecision Admitted(QuotaLease lease, QuotaTicket ticket) => new(lease, ticket, null);

    public static QuotaDecision Refused(QuotaLease lease, LeaseGrant refusal) => new(lease, null, refusal);
}

/// <summary>An admitted request's reservation. Settle once with the real token usage (0 when nothing ran).</summary>
public sealed class QuotaTicket(TimeProvider time, long reserved, params (QuotaLease Lease, long Window)[] holds)
{
    private int _settled;

    public long Reserved { get; } = reserved;

    public void Settle(long usedTokens)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 1)
        {
            return;
        }

        foreach (var (lease, window) in holds)
        {
            lease.Release(window, Reserved, usedTokens, time.GetUtcNow());
        }
    }
}
