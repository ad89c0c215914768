using DaprLlm.Sidecar.Tests.Workflows.Samples;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>One sidecar (state.in-memory as actor store) and one app with every sample, shared by a test class.</summary>
public sealed class InMemoryWorkflowFixture : IAsyncLifetime
{
    public WorkflowHost Host { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Host = await WorkflowHost.StartAsync("wf-conformance", SampleRegistrations.All);

    public async ValueTask DisposeAsync() => await Host.DisposeAsync();
}
