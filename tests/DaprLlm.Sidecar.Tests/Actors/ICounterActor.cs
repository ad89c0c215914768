using Dapr.Actors;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>The test actor's contract, called through remoting proxies.</summary>
public interface ICounterActor : IActor
{
    Task<int> IncrementAsync(int by);

    Task<int> GetCountAsync();

    Task<string> WhereAsync();

    /// <summary>Calls this same actor again through a proxy: completes only with reentrancy enabled.</summary>
    Task<int> IncrementThroughSelfAsync(int by);

    Task<int> TrackedAsync(int delayMs);

    /// <summary>Runs until the probe releases held calls (keeps the actor busy).</summary>
    Task HoldAsync();

    Task FailAsync(string message);

    Task StartTimerAsync(string name, int dueMs, int periodMs);

    Task AddReminderAsync(string name, int dueMs, int periodMs);

    Task RemoveReminderAsync(string name);
}
