using System.Collections.Concurrent;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Routing;
using DaprLlm.Gateway.Tenants;
using DaprLlm.Gateway.Upstream;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Models;

/// <summary>
/// The models a tenant can use, from the inference catalog (v1/models) of the replicas in its allowed regions,
/// kept for <see cref="CatalogFor"/> per replica. Only configured models are listed (what the API accepts); when no
/// replica of the tenant's regions answers, the configured list is used, so /models still works with inference down.
/// </summary>
public sealed partial class ModelCatalog(IUpstreamChannels channels, InferenceRouter router, IOptions<ChatOptions> options, TimeProvider time, ILogger<ModelCatalog> logger)
{
    public static readonly TimeSpan CatalogFor = TimeSpan.FromSeconds(30);

    // A failed replica is asked again after a short pause, not on every request.
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (IReadOnlyList<ModelDescriptor>? Models, DateTimeOffset Until)> _byAppId = new();

    /// <summary>Model ids the tenant may use, catalog order first; config when no catalog of its regions is known.</summary>
    public async Task<IReadOnlyList<string>> VisibleAsync(Tenant tenant, CancellationToken ct)
    {
        var configured = options.Value.Models.Concat(options.Value.EmbeddingModels).ToList();
        var fromCatalog = new List<string>();
        var anyCatalog = false;
        foreach (var (_, appId) in router.Candidates(tenant))
        {
            if (await GetAsync(appId, ct) is { } models)
            {
                anyCatalog = true;
                // A catalog entry may be limited to some regions: the replica's own region must be one of them.
                fromCatalog.AddRange(models.Where(m => m.Regions.Count == 0 || m.Regions.Contains(m.Region)).Select(m => m.Id).Where(configured.Contains));
            }
        }

        return (anyCatalog ? fromCatalog : configured).Distinct().Where(tenant.MayUse).ToList();
    }

    /// <summary>Drops every cached catalog (the next request asks the replicas again).</summary>
    public void Forget() => _byAppId.Clear();

    private async Task<IReadOnlyList<ModelDescriptor>?> GetAsync(string appId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        _byAppId.TryGetValue(appId, out var cached);
        if (cached.Until > now)
        {
            return cached.Models;
        }

        try
        {
            var list = await UpstreamCall.GetAsync<DaprLlm.Contracts.Inference.ModelList>(channels.For(appId), appId, ServiceMethods.Models, ct);
            _byAppId[appId] = (list.Models, now + CatalogFor);
            return list.Models;
        }
        catch (UpstreamException e)
        {
            // Keep serving the last known catalog of this replica for a while; without one, the caller uses config.
            LogCatalogFailed(logger, appId, e.StatusCode ?? 0);
            _byAppId[appId] = (cached.Models, now + RetryAfterFailure);
            return cached.Models;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model catalog of {AppId} unavailable ({Status}); using the last known or configured models")]
    private static partial void LogCatalogFailed(ILogger logger, string appId, int status);
}
