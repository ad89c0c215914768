using Dapr.Client;
using DaprLlm.Contracts;

namespace DaprLlm.Safety.Review;

/// <summary>Labelled examples from reviewer decisions, one Dapr state key per decided item.</summary>
public sealed class FeedbackStore(DaprClient dapr, ReviewStore reviews)
{
    internal const string Prefix = "review-example|";

    public Task SaveAsync(string reviewId, LabelledExample example, CancellationToken cancellationToken) =>
        dapr.SaveStateAsync(DaprComponents.StateStore, Prefix + reviewId, example, cancellationToken: cancellationToken);

    public Task DeleteAsync(string reviewId, CancellationToken cancellationToken) =>
        dapr.DeleteStateAsync(DaprComponents.StateStore, Prefix + reviewId, cancellationToken: cancellationToken);

    /// <summary>The examples of the recently decided items (as many as the closed history keeps), oldest first.</summary>
    public async Task<IReadOnlyList<LabelledExample>> ListAsync(CancellationToken cancellationToken)
    {
        var closed = await reviews.ListClosedAsync(cancellationToken);
        var keys = closed.Where(i => i.DecidedBy is not null).Select(i => Prefix + i.Id).ToList();
        if (keys.Count == 0)
        {
            return [];
        }

        var items = await dapr.GetBulkStateAsync<LabelledExample?>(DaprComponents.StateStore, keys, parallelism: 8, cancellationToken: cancellationToken);
        var byKey = items.Where(i => i.Value is not null).ToDictionary(i => i.Key, i => i.Value!, StringComparer.Ordinal);
        return keys.Where(byKey.ContainsKey).Select(k => byKey[k]).ToList();
    }
}
