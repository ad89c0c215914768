using Dapr.Client;
using DaprLlm.Contracts.Events;
using DaprLlm.Safety.Moderation;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DaprLlm.Review.Tests.Moderation;

/// <summary>The decision-event publisher never blocks or fails a check: a dead sidecar or a full queue only counts drops.</summary>
public sealed class DecisionEventPublisherTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_sidecar_that_refuses_costs_a_counted_drop_not_an_exception()
    {
        // Nothing listens on a fresh free port: every publish fails at connect.
        var dead = $"http://127.0.0.1:{Ports.GetFree()}";
        using var dapr = new DaprClientBuilder().UseHttpEndpoint(dead).UseGrpcEndpoint(dead).Build();
        using var telemetry = new SafetyTelemetry();
        using var publisher = new DecisionEventPublisher(dapr, telemetry, Options.Create(new ModerationOptions()), NullLogger<DecisionEventPublisher>.Instance);
        await publisher.StartAsync(Ct);

        Assert.True(publisher.TryEnqueue(Event("req-dead-sidecar")));

        await Deadline.WaitUntilAsync(() => Task.FromResult(publisher.Dropped == 1), TimeSpan.FromSeconds(30), "the failed publish to be counted");
        await publisher.StopAsync(Ct);
    }

    [Fact]
    public void A_full_queue_drops_the_event_at_once()
    {
        using var dapr = new DaprClientBuilder().Build();
        using var telemetry = new SafetyTelemetry();
        // Not started: nothing drains the queue of one.
        using var publisher = new DecisionEventPublisher(dapr, telemetry, Options.Create(new ModerationOptions { DecisionEventQueue = 1 }), NullLogger<DecisionEventPublisher>.Instance);

        Assert.True(publisher.TryEnqueue(Event("req-1")));
        Assert.False(publisher.TryEnqueue(Event("req-2")));
        Assert.Equal(1, publisher.Dropped);
    }

    private static ModerationDecidedV1 Event(string requestId) =>
        new(requestId, "acme", null, "input", "allow", null, new Dictionary<string, double>(), [], [], "default-v1", 1.5, null, false, DateTimeOffset.UnixEpoch);
}
