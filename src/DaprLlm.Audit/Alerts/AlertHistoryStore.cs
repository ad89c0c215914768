using Dapr.Client;

namespace DaprLlm.Audit.Alerts;

/// <summary>
/// The alert history (with acknowledgements) in a Dapr state store, so a restart neither forgets an incident nor
/// un-acknowledges it. One key holds the capped list: alerts are rare, and one document is one atomic write.
/// Saves are serialized and always write the newest snapshot, so a slow older save cannot overwrite a newer one.
/// </summary>
public sealed class AlertHistoryStore(DaprClient dapr, AlertOptions options)
{
    public const string Key = "audit-alerts|history";

    private readonly SemaphoreSlim _saving = new(1, 1);

    public async Task<List<Alert>> LoadAsync(CancellationToken cancellationToken) =>
        await dapr.GetStateAsync<List<Alert>?>(options.HistoryStateStore, Key, cancellationToken: cancellationToken) ?? [];

    public async Task SaveAsync(Func<IReadOnlyList<Alert>> snapshot, CancellationToken cancellationToken)
    {
        await _saving.WaitAsync(cancellationToken);
        try
        {
            await dapr.SaveStateAsync(options.HistoryStateStore, Key, snapshot(), cancellationToken: cancellationToken);
        }
        finally
        {
            _saving.Release();
        }
    }
}
