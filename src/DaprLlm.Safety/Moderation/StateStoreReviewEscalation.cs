using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Safety.Review;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// The stand-in until the review workflow (issue #7 part B) registers its own <see cref="IReviewEscalation"/>:
/// stores the item durably in the state store under <c>review-item:{id}</c> and returns the id. Nothing notifies a
/// reviewer yet; the item is there for the workflow to pick up.
/// </summary>
public sealed class StateStoreReviewEscalation(DaprClient dapr, TimeProvider time) : IReviewEscalation
{
    public static string Key(string reviewId) => $"review-item:{reviewId}";

    public async Task<string> EscalateAsync(ReviewEscalation item, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        var id = "rev-" + Guid.CreateVersion7(time.GetUtcNow()).ToString("N");
        await dapr.SaveStateAsync(DaprComponents.StateStore, Key(id), new StoredReviewItem(id, item, time.GetUtcNow()), cancellationToken: cancellationToken);
        return id;
    }
}

/// <summary>A review item as <see cref="StateStoreReviewEscalation"/> stores it.</summary>
public sealed record StoredReviewItem(string ReviewId, ReviewEscalation Item, DateTimeOffset CreatedAt);
