namespace DaprLlm.Sidecar.Tests.PubSub;

/// <summary>pubsub.in-memory: topics live in one sidecar, so the subscriber's sidecar is also the publisher's.</summary>
public sealed class InMemoryPubSubTests : PubSubConformanceTests
{
    protected override bool SeparatePublisher => false;

    protected override string ComponentYaml(PubSubRig rig, int concurrency) => $"""
        apiVersion: dapr.io/v1alpha1
        kind: Component
        metadata:
          name: {PubSub}
        spec:
          type: pubsub.in-memory
          version: v1
          metadata:
          - name: redeliverInterval
            value: 300ms
          - name: concurrency
            value: "{concurrency}"
          - name: backOffMaxRetries
            value: "2"
          - name: backOffInitialInterval
            value: 50ms
          - name: backOffMaxInterval
            value: 200ms
        """;

    protected override Task<long?> PendingAsync(PubSubRig rig, string topic) => Task.FromResult<long?>(null);
}
