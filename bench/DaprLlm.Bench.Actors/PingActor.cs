using Dapr.Actors;
using Dapr.Actors.Runtime;

namespace DaprLlm.Bench.Actors;

/// <summary>The benchmark actor's contract.</summary>
public interface IPingActor : IActor
{
    Task<int> PingAsync(int value);
}

/// <summary>An actor that does no work, so the numbers measure the call path.</summary>
public sealed class PingActor(ActorHost host) : Actor(host), IPingActor
{
    public Task<int> PingAsync(int value) => Task.FromResult(value + 1);
}
