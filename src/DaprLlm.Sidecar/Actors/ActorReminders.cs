using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.State;
using Microsoft.Extensions.Options;

namespace DaprLlm.Sidecar.Actors;

/// <summary>
/// Durable reminders. All reminders of a type live in one document of the actor state store
/// (<c>daprllm||actors||reminders||TYPE</c>) with their next due time. Every sidecar hosting the type scans it;
/// a sidecar fires a due reminder only after it claimed it with an ETag-checked write, so each due time fires on one
/// host at a time even with several hosts, and reminders survive sidecar and app restarts.
/// Firing is at least once, as with daprd's scheduler: a claim lasts <see cref="ActorReminderOptions.ClaimDuration"/>
/// and is renewed while the app's callback runs; the reminder is advanced (or, after its last firing, removed) only
/// once the app answered 2xx. If the host dies mid-callback, its claim runs out and a later scan fires it again.
/// The firing goes through the normal call path, so it runs on whichever sidecar holds the actor.
/// A firing that fails (app down, error status) is retried a second later, at most three times (daprd's scheduler
/// failure policy for actor reminders); then that due time is given up.
/// </summary>
public sealed class ActorReminders(
    ActorRuntime runtime, ActorStateStoreResolver stores, TimeProvider time, IOptions<ActorReminderOptions> options, ILogger<ActorReminders> logger)
    : BackgroundService
{
    private static readonly TimeSpan ScanEvery = TimeSpan.FromMilliseconds(250);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly TimeSpan _claimDuration = options.Value.ClaimDuration;

    private IStateStore Store => stores.Store ?? throw new InvalidOperationException(ActorStateStoreResolver.MissingMessage);

    /// <summary>Registers or replaces a reminder; returns an error message for a bad schedule.</summary>
    /// <exception cref="StateETagException">Every attempt to write lost a race with another writer.</exception>
    public async Task<string?> RegisterAsync(ActorKey key, string name, JsonObject body, CancellationToken cancellationToken)
    {
        var dueTime = body["dueTime"]?.ToString() ?? "";
        var period = body["period"]?.ToString() ?? "";
        var ttl = body["ttl"]?.ToString();
        if (!ActorSchedule.TryParse(dueTime, period, ttl, time.GetUtcNow(), out var schedule, out var error))
        {
            return error;
        }

        var reminder = new StoredReminder(Guid.NewGuid().ToString("N"), key.Id, name, body["data"]?.DeepClone(), dueTime, period,
            string.IsNullOrEmpty(ttl) ? null : ttl, schedule.FirstDue, 0, schedule.Repetitions, schedule.Period, schedule.ExpiresAt);
        await UpdateAsync(key.Type, list =>
        {
            list.RemoveAll(r => r.ActorId == key.Id && r.Name == name);
            list.Add(reminder);
            return true;
        }, cancellationToken);
        return null;
    }

    /// <exception cref="StateETagException">Every attempt to write lost a race with another writer.</exception>
    public Task UnregisterAsync(ActorKey key, string name, CancellationToken cancellationToken) =>
        UpdateAsync(key.Type, list => list.RemoveAll(r => r.ActorId == key.Id && r.Name == name) > 0, cancellationToken);

    public async Task<StoredReminder?> GetAsync(ActorKey key, string name, CancellationToken cancellationToken)
    {
        var (list, _) = await ReadAsync(key.Type, cancellationToken);
        return list.FirstOrDefault(r => r.ActorId == key.Id && r.Name == name);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await runtime.Ready.WaitAsync(stoppingToken);
        var types = runtime.Config.Entities;
        if (types.Count == 0 || stores.Store is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(ScanEvery, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var type in types)
                {
                    try
                    {
                        await ScanAsync(type, stoppingToken);
                    }
                    catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                    {
                        logger.LogWarning(e, "Scanning reminders of {Type} failed", type);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // shutting down
        }
    }

    private async Task ScanAsync(string type, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var (list, _) = await ReadAsync(type, cancellationToken);
        if (!list.Any(r => r.IsDue(now)))
        {
            return;
        }

        // The reminders stay in the document, claimed: nothing is advanced or removed before the app has answered.
        List<StoredReminder> claimed = [];
        bool won;
        try
        {
            won = await UpdateAsync(type, current =>
            {
                claimed = [];
                for (var i = 0; i < current.Count; i++)
                {
                    if (current[i].IsDue(now))
                    {
                        current[i] = current[i] with { ClaimedUntil = now + _claimDuration };
                        claimed.Add(current[i]);
                    }
                }

                return claimed.Count > 0;
            }, cancellationToken, attempts: 1);
        }
        catch (StateETagException)
        {
            return; // another host (or a registration) wrote first; the next scan looks again
        }

        if (!won)
        {
            return;
        }

        foreach (var reminder in claimed)
        {
            _ = FireAsync(type, reminder, now, cancellationToken);
        }
    }

    private async Task FireAsync(string type, StoredReminder reminder, DateTimeOffset claimedAt, CancellationToken cancellationToken)
    {
        var key = new ActorKey(type, reminder.ActorId);
        ActorCallResult result;
        using (var firing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var renewing = KeepClaimAsync(type, reminder, firing.Token);
            try
            {
                var body = Encoding.UTF8.GetBytes(reminder.CallbackBody().ToJsonString());
                result = await runtime.InvokeAsync(new ActorCall(key, $"remind/{reminder.Name}", body, "application/json", []), cancellationToken);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                result = ActorCallResult.Error(500, "ERR_ACTOR_REMINDER", e.Message);
            }

            await firing.CancelAsync();
            await renewing;
        }

        if (!result.IsSuccess)
        {
            logger.LogWarning("Reminder {Name} of {Actor} failed with status {Status} (retry {Retry} of {Max})", reminder.Name, key, result.StatusCode,
                reminder.Retries + 1, StoredReminder.MaxRetries);
        }

        try
        {
            // Due times are counted from the claim, as when the firing started.
            await UpdateFiringAsync(type, reminder, stored => result.IsSuccess
                ? stored.AfterFiring(claimedAt)
                : stored.AfterFailure(time.GetUtcNow()), CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The claim runs out and a scan fires the reminder again: once more than needed rather than never.
            logger.LogWarning(e, "Could not record the firing of reminder {Name} of {Actor}; it fires again when its claim runs out", reminder.Name, key);
        }
    }

    /// <summary>Renews the claim while the app's callback runs, so that no scan fires a slow callback a second time.</summary>
    private async Task KeepClaimAsync(string type, StoredReminder reminder, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_claimDuration / 3, time, cancellationToken);
                if (!await UpdateFiringAsync(type, reminder, stored => stored with { ClaimedUntil = time.GetUtcNow() + _claimDuration }, cancellationToken))
                {
                    return; // removed or re-registered meanwhile: nothing left to hold
                }
            }
            catch (OperationCanceledException)
            {
                return; // the callback returned
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogWarning(e, "Could not renew the claim on reminder {Name} of actor {Id}", reminder.Name, reminder.ActorId);
            }
        }
    }

    /// <summary>
    /// Replaces the claimed firing with <paramref name="change"/>'s result (null removes it). Does nothing when the store no
    /// longer holds that firing: the reminder was removed or re-registered, or another host fired it after the claim ran out.
    /// </summary>
    private Task<bool> UpdateFiringAsync(string type, StoredReminder claimed, Func<StoredReminder, StoredReminder?> change, CancellationToken cancellationToken) =>
        UpdateAsync(type, list =>
        {
            var index = list.FindIndex(claimed.IsSameFiring);
            if (index < 0)
            {
                return false;
            }

            if (change(list[index]) is { } next)
            {
                list[index] = next;
            }
            else
            {
                list.RemoveAt(index);
            }

            return true;
        }, cancellationToken);

    private async Task<(List<StoredReminder> List, string? ETag)> ReadAsync(string type, CancellationToken cancellationToken)
    {
        var entry = await Store.GetAsync(DocumentKey(type), cancellationToken);
        var list = entry is null ? [] : JsonSerializer.Deserialize<List<StoredReminder>>(entry.Value, Json) ?? [];
        return (list, entry?.ETag);
    }

    /// <summary>
    /// Read-modify-write with the document's ETag; returns false when <paramref name="change"/> wanted no write.
    /// Throws the last <see cref="StateETagException"/> when every attempt lost a race, so that no caller reports
    /// a write that did not happen.
    /// </summary>
    private async Task<bool> UpdateAsync(string type, Func<List<StoredReminder>, bool> change, CancellationToken cancellationToken, int attempts = 50)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (list, etag) = await ReadAsync(type, cancellationToken);
            if (!change(list))
            {
                return false;
            }

            try
            {
                await Store.SetAsync(new StateSetRequest(DocumentKey(type), JsonSerializer.SerializeToUtf8Bytes(list, Json), etag, StateConcurrency.FirstWrite), cancellationToken);
                return true;
            }
            catch (StateETagException) when (attempt < attempts)
            {
                await Task.Delay(Random.Shared.Next(2, 30), cancellationToken);
            }
        }
    }

    private static string DocumentKey(string type) => $"daprllm||actors||reminders||{type}";
}
