using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.State;

namespace DaprLlm.Sidecar.Actors;

/// <summary>
/// Durable reminders. All reminders of a type live in one document of the actor state store
/// (<c>daprllm||actors||reminders||TYPE</c>) with their next due time. Every sidecar hosting the type scans it;
/// a sidecar fires a due reminder only after it advanced that reminder's due time with an ETag-checked write,
/// so each due time fires once even with several hosts, and reminders survive sidecar and app restarts.
/// The firing goes through the normal call path, so it runs on whichever sidecar holds the actor.
/// A firing that fails (app down, error status) is put back and retried a second later.
/// </summary>
public sealed class ActorReminders(ActorRuntime runtime, ActorStateStoreResolver stores, TimeProvider time, ILogger<ActorReminders> logger)
    : BackgroundService
{
    private static readonly TimeSpan ScanEvery = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

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
        if (!list.Any(r => r.NextDue <= now))
        {
            return;
        }

        List<StoredReminder> claimed = [];
        bool won;
        try
        {
            won = await UpdateAsync(type, current =>
            {
                claimed = current.Where(r => r.NextDue <= now).ToList();
                foreach (var reminder in claimed)
                {
                    var index = current.IndexOf(reminder);
                    if (reminder.AfterFiring(now) is { } next)
                    {
                        current[index] = next;
                    }
                    else
                    {
                        current.RemoveAt(index);
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
            _ = FireAsync(type, reminder, cancellationToken);
        }
    }

    private async Task FireAsync(string type, StoredReminder reminder, CancellationToken cancellationToken)
    {
        var key = new ActorKey(type, reminder.ActorId);
        ActorCallResult result;
        try
        {
            var body = Encoding.UTF8.GetBytes(reminder.CallbackBody().ToJsonString());
            result = await runtime.InvokeAsync(new ActorCall(key, $"remind/{reminder.Name}", body, "application/json", []), cancellationToken);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result = ActorCallResult.Error(500, "ERR_ACTOR_REMINDER", e.Message);
        }

        if (result.IsSuccess)
        {
            return;
        }

        logger.LogWarning("Reminder {Name} of {Actor} failed with status {Status}; retrying in {Delay}", reminder.Name, key, result.StatusCode, RetryAfter);
        try
        {
            // Put the due time back unless the reminder was re-registered or removed meanwhile.
            await UpdateAsync(type, list =>
            {
                var index = list.FindIndex(r => r.ActorId == reminder.ActorId && r.Name == reminder.Name);
                var retry = reminder with { NextDue = time.GetUtcNow() + RetryAfter };
                if (index >= 0)
                {
                    if (list[index].Registration != reminder.Registration)
                    {
                        return false;
                    }

                    list[index] = retry;
                    return true;
                }

                if (reminder.AfterFiring(time.GetUtcNow()) is null)
                {
                    list.Add(retry);
                    return true;
                }

                return false;
            }, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning(e, "Could not reschedule reminder {Name} of {Actor}", reminder.Name, key);
        }
    }

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
