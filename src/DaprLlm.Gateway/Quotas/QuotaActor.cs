using Dapr.Actors.Runtime;

namespace DaprLlm.Gateway.Quotas;

/// <summary>
/// One quota holder; the arithmetic is <see cref="QuotaRules"/>. Dapr runs one call at a time per actor, so the
/// checks need no locking, and the state is saved when each call ends.
/// </summary>
public sealed class QuotaActor(ActorHost host, TimeProvider time) : Actor(host), IQuotaActor
{
    private const string StateKey = "quota";

    public async Task<LeaseGrant> ExchangeAsync(LeaseExchange exchange)
    {
        var state = await LoadAsync();
        var grant = QuotaRules.Exchange(state, exchange, time.GetUtcNow());
        await StateManager.SetStateAsync(StateKey, state);
        return grant;
    }

    public async Task<LeaseGrant> PeekAsync(QuotaLimits limits) => QuotaRules.Describe(await LoadAsync(), limits, new LeaseGrant(), time.GetUtcNow());

    private async Task<QuotaState> LoadAsync()
    {
        var stored = await StateManager.TryGetStateAsync<QuotaState>(StateKey);
        return stored.HasValue ? stored.Value : new QuotaState();
    }
}
