using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>One actor host on an in-memory store, shared by the tests of a class that only use their own actor ids.</summary>
public sealed class ActorNodeFixture : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private ActorNode? _node;

    public ActorProbe Probe { get; } = new();

    public ActorNode Node => _node ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() =>
        _node = await ActorNode.StartAsync("A", "actor-shared", ActorComponents.InMemory(_folder), _folder.Sub("registry"), Probe, ActorAppSettings.Default);

    public async ValueTask DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }

        _folder.Dispose();
    }
}
