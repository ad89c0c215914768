namespace DaprLlm.Sidecar.Tests.Invocation;

/// <summary>One caller/target pair shared by the tests of a class that need no special resources.</summary>
public sealed class InvocationPairFixture : IAsyncLifetime
{
    public InvocationPair Pair { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Pair = await InvocationPair.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (Pair is not null)
        {
            await Pair.DisposeAsync();
        }
    }
}
