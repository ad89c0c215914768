using Dapr.Client;
using DaprLlm.Contracts;
using Microsoft.Extensions.Logging;

namespace DaprLlm.Safety.Review;

/// <summary>
/// Review items in Dapr state. Every change is a read-modify-write guarded by the item's ETag, so two reviewers
/// racing for a claim or a decision cannot both win. Two index keys (open items; the last decided ones) let the
/// queue and the statistics list items without a query API.
/// </summary>
public sealed partial class ReviewStore(DaprClient dapr, Microsoft.Extensions.Options.IOptions<ReviewOptions> options, ILogger<ReviewStore> logger)
{
    private const string ItemPrefix = "review|";
    private const string OpenIndexKey = "review-index|open";
    private const string ClosedIndexKey = "review-index|closed";
    private const int MaxAttempts = 50;
    private static readonly StateOptions FirstWrite = new() { Concurrency = ConcurrencyMode.FirstWrite };

    /// <summary>
    /// Stores a new item, not yet in the queue (see <see cref="AddToQueueAsync"/>); false when one with the same id exists
    /// already (a retried escalation).
    /// </summary>
    public Task<bool> CreateAsync(ReviewItem item, CancellationToken cancellationToken) =>
        // First-write: a retried escalation with the same id cannot overwrite an item a reviewer already worked on.
        dapr.TrySaveStateAsync(DaprComponents.StateStore, ItemPrefix + item.Id, item, "", FirstWrite, cancellationToken: cancellationToken);

    /// <summary>Lists the item in the open queue once its workflow runs; on a retry only while it is still open.</summary>
    public async Task AddToQueueAsync(string id, bool isNew, CancellationToken cancellationToken)
    {
        // Indexed on a retry too, in case the first attempt stopped between the writes.
        if (isNew || (await GetAsync(id, cancellationToken))?.IsOpen == true)
        {
            await UpdateIndexAsync(OpenIndexKey, ids => Add(ids, id, int.MaxValue), cancellationToken);
        }
    }

    /// <summary>
    /// Takes back a new item whose workflow could not be started, unless something changed it since; best effort (an
    /// item left behind is not in the queue, and a retried escalation uses it).
    /// </summary>
    public async Task TryRemoveUnstartedAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            var (current, etag) = await dapr.GetStateAndETagAsync<ReviewItem?>(DaprComponents.StateStore, ItemPrefix + id, cancellationToken: cancellationToken);
            if (current is { Status: ReviewStatuses.Pending, ClaimedBy: null })
            {
                await dapr.TryDeleteStateAsync(DaprComponents.StateStore, ItemPrefix + id, etag, cancellationToken: cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRemoveFailed(logger, e, id);
        }
    }

    public Task<ReviewItem?> GetAsync(string id, CancellationToken cancellationToken) =>
        dapr.GetStateAsync<ReviewItem?>(DaprComponents.StateStore, ItemPrefix + id, cancellationToken: cancellationToken);

    /// <summary>
    /// Applies <paramref name="change"/> to the current item and writes it if the ETag still matches, re-reading
    /// on a lost race. The change returns null to leave the item as it is (and may throw to refuse).
    /// </summary>
    public async Task<ReviewItem> UpdateAsync(string id, Func<ReviewItem, ReviewItem?> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (current, etag) = await dapr.GetStateAndETagAsync<ReviewItem?>(DaprComponents.StateStore, ItemPrefix + id, cancellationToken: cancellationToken);
            if (current is null)
            {
                throw new ReviewRefusedException(ReviewRefusal.NotFound, $"review '{id}' does not exist");
            }

            var updated = change(current);
            if (updated is null)
            {
                return current;
            }

            if (await dapr.TrySaveStateAsync(DaprComponents.StateStore, ItemPrefix + id, updated, etag, cancellationToken: cancellationToken))
            {
                if (current.IsOpen && !updated.IsOpen)
                {
                    // The item is written, so the change has happened: a failing index write must not hide that from
                    // the caller (the decision event would not be raised). The indexes are repaired on the next listing.
                    await TryMoveToClosedAsync([id], cancellationToken);
                }

                return updated;
            }
        }

        throw new ReviewRefusedException(ReviewRefusal.Conflict, $"review '{id}' is changing too often; try again");
    }

    /// <summary>The items of these ids that exist (one bulk read).</summary>
    public async Task<IReadOnlyList<ReviewItem>> GetManyAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        var items = await dapr.GetBulkStateAsync<ReviewItem?>(DaprComponents.StateStore, ids.Select(i => ItemPrefix + i).ToList(), parallelism: 8, cancellationToken: cancellationToken);
        return items.Where(i => i.Value is not null).Select(i => i.Value!).ToList();
    }

    public async Task<IReadOnlyList<ReviewItem>> ListOpenAsync(CancellationToken cancellationToken)
    {
        var items = await ListAsync(OpenIndexKey, cancellationToken);
        var closed = items.Where(i => !i.IsOpen).Select(i => i.Id).ToList();
        if (closed.Count > 0)
        {
            // Left behind by an index write that failed after its item was decided.
            await TryMoveToClosedAsync(closed, cancellationToken);
        }

        return items.Where(i => i.IsOpen).ToList();
    }

    public Task<IReadOnlyList<ReviewItem>> ListClosedAsync(CancellationToken cancellationToken) => ListAsync(ClosedIndexKey, cancellationToken);

    private async Task<IReadOnlyList<ReviewItem>> ListAsync(string indexKey, CancellationToken cancellationToken)
    {
        var ids = await dapr.GetStateAsync<List<string>?>(DaprComponents.StateStore, indexKey, cancellationToken: cancellationToken) ?? [];
        return await GetManyAsync(ids, cancellationToken);
    }

    /// <summary>Adds the ids to the closed index, then drops them from the open one; logs (and leaves for a later repair) on failure.</summary>
    private async Task TryMoveToClosedAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        try
        {
            // Closed first: if the second write fails the ids stay in the open index, where the next listing finds them.
            await UpdateIndexAsync(ClosedIndexKey, list => ids.Aggregate(false, (changed, id) => Add(list, id, options.Value.ClosedHistory) | changed), cancellationToken);
            await UpdateIndexAsync(OpenIndexKey, list => list.RemoveAll(ids.Contains) > 0, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogIndexFailed(logger, e, ids.Count);
        }
    }

    [LoggerMessage(LogLevel.Warning, "Could not remove review item {Id}, whose workflow did not start; it stays out of the queue until a retried escalation")]
    private static partial void LogRemoveFailed(ILogger logger, Exception exception, string id);

    [LoggerMessage(LogLevel.Warning, "Could not move {Count} decided review item(s) out of the open index; the next queue listing retries")]
    private static partial void LogIndexFailed(ILogger logger, Exception exception, int count);

    private static bool Add(List<string> ids, string id, int max)
    {
        if (ids.Contains(id))
        {
            return false;
        }

        ids.Add(id);
        if (ids.Count > max)
        {
            ids.RemoveRange(0, ids.Count - max);
        }

        return true;
    }

    private async Task UpdateIndexAsync(string key, Func<List<string>, bool> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (ids, etag) = await dapr.GetStateAndETagAsync<List<string>?>(DaprComponents.StateStore, key, cancellationToken: cancellationToken);
            ids ??= [];
            if (!change(ids))
            {
                return;
            }

            var saved = string.IsNullOrEmpty(etag)
                ? await dapr.TrySaveStateAsync(DaprComponents.StateStore, key, ids, "", FirstWrite, cancellationToken: cancellationToken)
                : await dapr.TrySaveStateAsync(DaprComponents.StateStore, key, ids, etag, cancellationToken: cancellationToken);
            if (saved)
            {
                return;
            }
        }

        throw new InvalidOperationException($"index '{key}' could not be updated after {MaxAttempts} attempts");
    }
}
