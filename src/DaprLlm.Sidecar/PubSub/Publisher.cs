using System.Text.Json;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Hosting;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// The publish path shared by HTTP and gRPC (and dead-lettering): finds the component, checks topic scopes, wraps
/// the body in a CloudEvent unless <c>rawPayload</c> is set, and hands it to the broker.
/// </summary>
public sealed class Publisher(ComponentRegistry registry, SidecarOptions options, TimeProvider time)
{
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<ComponentSpec, TopicScopes> _scopes = [];

    /// <summary>One event to publish.</summary>
    public sealed record Request(
        string PubSubName, string Topic, ReadOnlyMemory<byte> Data, string? ContentType,
        IReadOnlyDictionary<string, string> Metadata, string? TraceParent, string? TraceState);

    /// <summary>Finds a pub/sub component and checks the app may publish to the topic.</summary>
    public IPubSub Resolve(string pubsubName, string topic)
    {
        // Hot path (every publish): a known component and topic skip the error checks, and its scopes are parsed once.
        if (!string.IsNullOrEmpty(pubsubName) && !string.IsNullOrEmpty(topic) && registry.TryGet<IPubSub>(pubsubName, out var known))
        {
            return _scopes.GetValue(known.Spec, spec => new TopicScopes(spec)).MayPublish(options.AppId, topic)
                ? known
                : throw PubSubApiException.Forbidden(topic, pubsubName, options.AppId);
        }

        if (!registry.All<IPubSub>().Any())
        {
            throw PubSubApiException.NotConfigured();
        }

        if (string.IsNullOrEmpty(pubsubName))
        {
            throw PubSubApiException.EmptyName();
        }

        if (!registry.TryGet<IPubSub>(pubsubName, out var pubsub))
        {
            throw PubSubApiException.NotFound(pubsubName);
        }

        if (string.IsNullOrEmpty(topic))
        {
            throw PubSubApiException.TopicEmpty(pubsubName);
        }

        if (!new TopicScopes(pubsub.Spec).MayPublish(options.AppId, topic))
        {
            throw PubSubApiException.Forbidden(topic, pubsubName, options.AppId);
        }

        return pubsub;
    }

    /// <summary>Builds the message the broker stores for <paramref name="request"/>.</summary>
    public PubSubMessage Prepare(Request request)
    {
        var raw = request.Metadata.TryGetValue("rawPayload", out var rawText) && bool.TryParse(rawText, out var r) && r;
        if (raw)
        {
            return new PubSubMessage(request.Topic, request.Data, request.ContentType, request.Metadata);
        }

        try
        {
            var envelope = CloudEvents.Create(new CloudEvents.PublishInput(options.AppId, request.PubSubName, request.Topic, request.Data,
                request.ContentType, request.Metadata, request.TraceParent ?? CloudEvents.NewTraceParent(), request.TraceState), time.GetUtcNow());
            return new PubSubMessage(request.Topic, envelope, CloudEvents.ContentType, request.Metadata);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw PubSubApiException.CloudEvent(request.Topic, request.PubSubName, e);
        }
    }

    public async Task PublishAsync(Request request, CancellationToken cancellationToken)
    {
        var pubsub = Resolve(request.PubSubName, request.Topic);
        var message = Prepare(request);
        try
        {
            await pubsub.PublishAsync(message, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw PubSubApiException.Publish(request.Topic, request.PubSubName, e);
        }
    }
}
