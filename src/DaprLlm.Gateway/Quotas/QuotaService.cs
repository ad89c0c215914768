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
public sealed class QuotaService(IActorProxyFactory actors, IOptions<QuotaOptions> options, TimeProvider time) : IDisposable
{
    public const string ActorType = nameof(QuotaActor);

    private readonly ConcurrentDictionary<string, QuotaLease> _leases = new();

    public IEnumerable<QuotaLease> Leases => _leases.Values;

    public async ValueTask<QuotaDecision> AdmitAsync(Caller caller, long tokens, CancellationToken ct)
    {
        var key = Lease($"key:{caller.KeyId}", options.Value.ForKey(caller.Tenant));
        var tenant = Lease($"tenant:{caller.TenantId}", options.Value.ForTenant(caller.Tenant));
        if (TooLarge(tokens, key.Limits, tenant.Limits) is { } reason)
        {
            return QuotaDecision.TooLargeFor(key, tenant, reason);
        }

        // Both at once: when both leases must call their actors (the first request after an idle spell), the two calls
        // overlap instead of one waiting for the other. Whatever one took is put back when the other refuses or fails.
        var keyTake = TakeAsync(key, tokens, ct);
        var tenantTake = TakeAsync(tenant, tokens, ct);
        (long? Window, LeaseGrant? Refusal) keyResult = default, tenantResult = default;
        Exception? failure = null;
        try
        {
            keyResult = await keyTake;
        }
        catch (Exception e)
        {
            failure = e;
        }

        try
        {
            tenantResult = await tenantTake;
        }
        catch (Exception e)
        {
            failure ??= e;
        }

        if (failure is not null || keyResult.Window is null || tenantResult.Window is null)
        {
            // The key's refusal comes first, as when the key was asked before the tenant.
            if (keyResult.Window is { } kw)
            {
                key.Undo(kw, tokens, time.GetUtcNow());
            }

            if (tenantResult.Window is { } tw)
            {
                tenant.Undo(tw, tokens, time.GetUtcNow());
            }

            if (failure is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }

            return QuotaDecision.Refused(key, tenant, keyResult.Window is null ? keyResult.Refusal! : tenantResult.Refusal!);
        }

        return QuotaDecision.Admitted(key, tenant, new QuotaTicket(time, tokens, (key, keyResult.Window.Value), (tenant, tenantResult.Window.Value)));
    }

    /// <summary>
    /// Why a request can never be admitted, however long it waits: it needs more tokens than a minute's limit and
    /// burst, or a day's limit, of its key or tenant (the smaller one counts; the key's are those of
    /// <see cref="QuotaOptions.ForKey"/>, raised by the tenant's own limits, as admission uses). Null when it fits.
    /// </summary>
    public static string? TooLarge(long tokens, QuotaLimits key, QuotaLimits tenant)
    {
        var minute = Math.Min(key.TokensPerMinute + key.BurstTokens, tenant.TokensPerMinute + tenant.BurstTokens);
        var day = Math.Min(key.TokensPerDay, tenant.TokensPerDay);
        var (kind, limit) = tokens > minute ? ("tokens per min (TPM)", minute) : tokens > day ? ("tokens per day (TPD)", day) : (null, 0L);
        return kind is null ? null
            : $"Request too large on {kind}: Limit {limit}, Requested {tokens} (prompt estimate + max_tokens). The input or output tokens must be reduced in order to run successfully.";
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
        var lease = _leases.GetOrAdd(actorId, NewLease);
        lease.Limits = limits;
        return lease;
    }

    // Leases are topped up in the background and renewed at the minute's end while in use (within the idle-return
    // time), so requests at a steady rate do not wait for an actor call when a lease runs low or the minute turns.
    private QuotaLease NewLease(string id)
    {
        var lease = new QuotaLease(id, actors.CreateActorProxy<IQuotaActor>(new ActorId(id), ActorType));
        lease.RefreshAhead(time, options.Value.LeaseDivisor, options.Value.IdleReturnAfter);
        return lease;
    }

    public void Dispose()
    {
        foreach (var lease in _leases.Values)
        {
            lease.Dispose();
        }
    }
}

/// <summary>
/// The outcome of admission; the key's and tenant's leases feed the x-ratelimit-* headers either way. <see cref="TooLarge"/>
/// says why a request could never be admitted (no waiting helps).
/// </summary>
public sealed record QuotaDecision(QuotaLease KeyLease, QuotaLease TenantLease, QuotaTicket? Ticket, LeaseGrant? Refusal, string? TooLarge = null)
{
    public static QuotaDecision Admitted(QuotaLease key, QuotaLease tenant, QuotaTicket ticket) => new(key, tenant, ticket, null);

    public static QuotaDecision Refused(QuotaLease key, QuotaLease tenant, LeaseGrant refusal) => new(key, tenant, null, refusal);

    public static QuotaDecision TooLargeFor(QuotaLease key, QuotaLease tenant, string reason) => new(key, tenant, null, null, reason);
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
