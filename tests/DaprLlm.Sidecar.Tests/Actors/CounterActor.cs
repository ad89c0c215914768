using System.Text;
using Dapr.Actors.Runtime;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>A small actor that keeps a counter in actor state and reports what happens to it to an <see cref="ActorProbe"/>.</summary>
public sealed class CounterActor(ActorHost host, ActorProbe probe, ActorHostName hostName) : Actor(host), ICounterActor, IRemindable
{
    private const string CountKey = "count";

    public async Task<int> IncrementAsync(int by)
    {
        var current = await StateManager.TryGetStateAsync<int>(CountKey);
        var next = (current.HasValue ? current.Value : 0) + by;
        await StateManager.SetStateAsync(CountKey, next);
        return next;
    }

    public async Task<int> GetCountAsync()
    {
        var current = await StateManager.TryGetStateAsync<int>(CountKey);
        return current.HasValue ? current.Value : 0;
    }

    public Task<string> WhereAsync() => Task.FromResult(hostName.Name);

    public async Task<int> IncrementThroughSelfAsync(int by)
    {
        var self = ProxyFactory.CreateActorProxy<ICounterActor>(Id, nameof(CounterActor));
        var inner = await self.IncrementAsync(by);
        return inner + await self.GetCountAsync();
    }

    public async Task<int> TrackedAsync(int delayMs)
    {
        probe.Enter(Id.GetId());
        try
        {
            await Task.Delay(delayMs);
            return await IncrementAsync(1);
        }
        finally
        {
            probe.Exit(Id.GetId());
        }
    }

    public async Task HoldAsync()
    {
        probe.HeldCalls.Enqueue(Id.GetId());
        await probe.HeldCallsReleased;
    }

    public Task FailAsync(string message) => throw new InvalidOperationException(message);

    public Task StartTimerAsync(string name, int dueMs, int periodMs) =>
        RegisterTimerAsync(name, nameof(OnTimerAsync), Encoding.UTF8.GetBytes(name), TimeSpan.FromMilliseconds(dueMs),
            periodMs > 0 ? TimeSpan.FromMilliseconds(periodMs) : Timeout.InfiniteTimeSpan);

    public Task OnTimerAsync(byte[] data)
    {
        probe.Timers.Enqueue((Id.GetId(), Encoding.UTF8.GetString(data), hostName.Name, DateTimeOffset.UtcNow));
        return Task.CompletedTask;
    }

    public Task AddReminderAsync(string name, int dueMs, int periodMs) =>
        RegisterReminderAsync(name, Encoding.UTF8.GetBytes(name), TimeSpan.FromMilliseconds(dueMs),
            periodMs > 0 ? TimeSpan.FromMilliseconds(periodMs) : Timeout.InfiniteTimeSpan);

    public Task RemoveReminderAsync(string name) => UnregisterReminderAsync(name);

    public async Task ReceiveReminderAsync(string reminderName, byte[] state, TimeSpan dueTime, TimeSpan period)
    {
        // The payload travels through the sidecar and back: check it is the one registered.
        var name = Encoding.UTF8.GetString(state) == reminderName ? reminderName : $"{reminderName}:bad-data";
        probe.Reminders.Enqueue((Id.GetId(), name, hostName.Name, DateTimeOffset.UtcNow));
        if (reminderName.StartsWith("fail", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"reminder {reminderName} always fails");
        }

        if (reminderName == probe.HoldRemindersNamed)
        {
            await probe.HeldReminders;
        }
    }

    protected override Task OnActivateAsync()
    {
        probe.Activated(Id.GetId(), hostName.Name);
        return Task.CompletedTask;
    }

    protected override async Task OnDeactivateAsync()
    {
        probe.Deactivated(Id.GetId(), hostName.Name);
        if (probe.HoldDeactivations)
        {
            await probe.HeldDeactivations;
        }
    }
}
