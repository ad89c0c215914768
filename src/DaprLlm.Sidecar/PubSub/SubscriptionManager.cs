using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.Json;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Hosting;
using DaprLlm.Sidecar.Metadata;
using DaprLlm.Sidecar.Telemetry;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// Subscribes the app as daprd does: once the app port is up, asks GET /dapr/subscribe, adds the scoped Subscription
/// resources, and feeds every topic's messages to the app through <see cref="AppDelivery"/> under the inbound retry
/// policy; failures after the last attempt go to the dead-letter topic when there is one, otherwise the message is
/// left unacknowledged for the broker to redeliver. On shutdown it stops reading and drains deliveries in flight.
/// </summary>
public sealed class SubscriptionManager(
    ComponentRegistry registry,
    AppChannel.AppChannel channel,
    SidecarOptions options,
    AppDelivery delivery,
    InboundPipelines pipelines,
    TimeProvider time,
    ILogger<SubscriptionManager> logger) : IHostedService, IMetadataContributor
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _hardStop = new();
    private readonly List<(SubscriptionDefinition Definition, IAsyncDisposable Handle)> _active = [];
    private readonly Lock _lock = new();
    private Task _run = Task.CompletedTask;

    /// <summary>The subscriptions in effect (for GET /v1.0/metadata).</summary>
    public IReadOnlyList<SubscriptionDefinition> Active
    {
        get
        {
            lock (_lock)
            {
                return _active.Select(a => a.Definition).ToList();
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _run = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _run.ContinueWith(_ => { }, TaskScheduler.Default);
        List<(SubscriptionDefinition Definition, IAsyncDisposable Handle)> active;
        lock (_lock)
        {
            active = [.. _active];
            _active.Clear();
        }

        // Each subscription stops reading and waits (bounded) for the deliveries it already started.
        await Task.WhenAll(active.Select(a => a.Handle.DisposeAsync().AsTask()));
        await _hardStop.CancelAsync();
    }

    public void Contribute(JsonObject metadata)
    {
        var list = new JsonArray();
        foreach (var subscription in Active)
        {
            list.Add(subscription.ToMetadataJson());
        }

        metadata["subscriptions"] = list;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        if (!channel.IsConfigured || !registry.All<IPubSub>().Any())
        {
            return;
        }

        try
        {
            await channel.WaitForAppAsync(cancellationToken);
            var definitions = new List<SubscriptionDefinition>();
            definitions.AddRange(await LoadProgrammaticAsync(cancellationToken));
            foreach (var document in registry.Documents("Subscription"))
            {
                try
                {
                    definitions.Add(SubscriptionReader.ReadDeclarative(document));
                }
                catch (FormatException e)
                {
                    logger.LogError("Subscription {Document} is invalid and ignored: {Error}", document.Describe(), e.Message);
                }
            }

            var seen = new HashSet<(string, string)>();
            foreach (var definition in definitions)
            {
                if (!seen.Add((definition.PubSubName, definition.Topic)))
                {
                    logger.LogWarning("Duplicate {Type} subscription to topic {Topic} on pubsub {PubSub} ignored (the first one is kept)",
                        definition.Type, definition.Topic, definition.PubSubName);
                    continue;
                }

                try
                {
                    await SubscribeAsync(definition, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError("Subscribing to topic {Topic} on pubsub {PubSub} failed: {Error}", definition.Topic, definition.PubSubName, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "Loading subscriptions failed; this app receives no pub/sub messages");
        }
    }

    private async Task<IReadOnlyList<SubscriptionDefinition>> LoadProgrammaticAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "dapr/subscribe");
                using var response = await channel.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    // daprd treats a missing /dapr/subscribe (404 and friends) as "no programmatic subscriptions".
                    logger.LogInformation("App answered GET /dapr/subscribe with {Status}: no programmatic subscriptions", (int)response.StatusCode);
                    return [];
                }

                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                return string.IsNullOrWhiteSpace(body) ? [] : SubscriptionReader.ReadProgrammatic(body);
            }
            catch (Exception e) when (e is JsonException or FormatException)
            {
                logger.LogError("App's GET /dapr/subscribe answer is invalid, no programmatic subscriptions: {Error}", e.Message);
                return [];
            }
            catch (HttpRequestException e)
            {
                // The port is open but the app may still be starting: keep asking, as subscriptions matter more than speed.
                logger.Log(attempt % 10 == 0 ? LogLevel.Warning : LogLevel.Debug, "GET /dapr/subscribe failed ({Error}); retrying", e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(200 * attempt, 2000)), time, cancellationToken);
            }
        }
    }

    private async Task SubscribeAsync(SubscriptionDefinition definition, CancellationToken cancellationToken)
    {
        if (!registry.TryGet<IPubSub>(definition.PubSubName, out var pubsub))
        {
            logger.LogWarning("Subscription to topic {Topic} refers to pubsub {PubSub}, which is not loaded; ignored", definition.Topic, definition.PubSubName);
            return;
        }

        if (!new TopicScopes(pubsub.Spec).MaySubscribe(options.AppId, definition.Topic))
        {
            logger.LogWarning("Subscription to topic {Topic} on pubsub {PubSub} is not allowed for app id {AppId} (subscriptionScopes)",
                definition.Topic, definition.PubSubName, options.AppId);
            return;
        }

        if (definition.Rules.Count == 0)
        {
            logger.LogWarning("Subscription to topic {Topic} on pubsub {PubSub} has no route; ignored", definition.Topic, definition.PubSubName);
            return;
        }

        if (definition.BulkSubscribe)
        {
            // Said once here rather than failing each delivery: the app's bulk route gets single CloudEvents, and
            // its {"statuses":[...]} answers are not read, so deliveries may be retried to the dead-letter topic.
            logger.LogWarning("Subscription to topic {Topic} on pubsub {PubSub} enables bulkSubscribe, which the local sidecar does not support: " +
                "each message is delivered on its own, as a single CloudEvent, to the route", definition.Topic, definition.PubSubName);
        }

        var handle = await pubsub.SubscribeAsync(definition.Topic, definition.Metadata,
            (message, _) => HandleAsync(definition, pubsub, message), cancellationToken);
        lock (_lock)
        {
            _active.Add((definition, handle));
        }

        logger.LogInformation("Subscribed to topic {Topic} on pubsub {PubSub} ({Type}, routes: {Routes})", definition.Topic, definition.PubSubName,
            definition.Type, string.Join(", ", definition.Rules.Select(r => r.Match is null ? r.Path : $"{r.Match.Text} -> {r.Path}")));
    }

    private async Task HandleAsync(SubscriptionDefinition subscription, IPubSub pubsub, PubSubMessage message)
    {
        var body = subscription.RawPayload
            ? CloudEvents.FromRawPayload(message.Data, subscription.Topic, subscription.PubSubName)
            : message.Data;
        CloudEvents.Head cloudEvent;
        try
        {
            // Only the few fields the sidecar uses are read; a tree is built only for routing rules that look inside.
            cloudEvent = CloudEvents.ReadHead(body.Span);
        }
        catch (JsonException e)
        {
            logger.LogError("Message on topic {Topic} of pubsub {PubSub} is not a CloudEvent: {Error}", subscription.Topic, subscription.PubSubName, e.Message);
            await DeadLetterOrThrowAsync(subscription, pubsub, message, e);
            return;
        }

        if (CloudEvents.HasExpired(cloudEvent.Expiration, time.GetUtcNow()))
        {
            logger.LogWarning("Dropping expired pub/sub event {Id} on topic {Topic}", cloudEvent.Id, subscription.Topic);
            await TryDeadLetterAsync(subscription, pubsub, message);
            return;
        }

        RouteRule? route;
        try
        {
            route = subscription.FindRoute(body);
        }
        catch (Exception e) when (e is InvalidOperationException or JsonException)
        {
            logger.LogError("Error matching routes for event {Id} on topic {Topic}: {Error}", cloudEvent.Id, subscription.Topic, e.Message);
            await DeadLetterOrThrowAsync(subscription, pubsub, message, e);
            return;
        }

        if (route is null)
        {
            logger.LogDebug("No matching route for event {Id} on topic {Topic}; skipping", cloudEvent.Id, subscription.Topic);
            await TryDeadLetterAsync(subscription, pubsub, message);
            return;
        }

        DeliveryOutcome outcome;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var (pipeline, fromResiliency) = pipelines.For(pubsub);
            var state = (Delivery: delivery, route.Path, Body: body, CloudEvent: cloudEvent, message.Metadata, Token: _hardStop.Token, Stopping: _stopping.Token);
            outcome = fromResiliency
                ? await pipeline.ExecuteAsync(static (s, ct) => DeliverWithinTimeoutAsync(s.Delivery, s.Path, s.Body, s.CloudEvent, s.Metadata, s.Token, s.Stopping, ct),
                    state, _stopping.Token)

                // The component's own retries have no timeout: the state overload, no closure and no extra async state machine per message.
                : await pipeline.ExecuteAsync(
                    static (s, _) => new ValueTask<DeliveryOutcome>(s.Delivery.DeliverAsync(s.Path, s.Body, s.CloudEvent, s.Metadata, s.Token)),
                    state, _stopping.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Shutting down: leave the message to the broker instead of dead-lettering it.
            throw;
        }
        catch (Exception e)
        {
            SidecarTelemetry.RecordPubSubIngress(subscription.PubSubName, subscription.Topic, "retry", Stopwatch.GetElapsedTime(started));
            logger.LogWarning("Delivery of event {Id} on topic {Topic} to {Path} failed after retries: {Error}", cloudEvent.Id, subscription.Topic, route.Path, e.Message);
            await DeadLetterOrThrowAsync(subscription, pubsub, message, e);
            return;
        }

        SidecarTelemetry.RecordPubSubIngress(subscription.PubSubName, subscription.Topic, outcome == DeliveryOutcome.Dropped ? "drop" : "success",
            Stopwatch.GetElapsedTime(started));
        if (outcome == DeliveryOutcome.Dropped && subscription.DeadLetterTopic is not null)
        {
            await pubsub.PublishAsync(message with { Topic = subscription.DeadLetterTopic }, CancellationToken.None);
        }
    }

    /// <summary>
    /// One attempt under a Resiliency inbound policy. Its timeout cancels <paramref name="attempt"/>, which must cut the
    /// call to the app (Polly's timeouts are cooperative); a graceful stop cancels it too, but an attempt already
    /// under way then runs on until the hard stop, as without a policy.
    /// </summary>
    private static async ValueTask<DeliveryOutcome> DeliverWithinTimeoutAsync(AppDelivery delivery, string path, ReadOnlyMemory<byte> body,
        CloudEvents.Head cloudEvent, IReadOnlyDictionary<string, string> metadata, CancellationToken hardStop, CancellationToken stopping,
        CancellationToken attempt)
    {
        using var call = CancellationTokenSource.CreateLinkedTokenSource(hardStop);
        await using var timeout = attempt.Register(static s =>
        {
            var (source, stopping) = ((CancellationTokenSource, CancellationToken))s!;
            if (!stopping.IsCancellationRequested)
            {
                source.Cancel();
            }
        }, (call, stopping));
        return await delivery.DeliverAsync(path, body, cloudEvent, metadata, call.Token);
    }

    private async Task DeadLetterOrThrowAsync(SubscriptionDefinition subscription, IPubSub pubsub, PubSubMessage message, Exception failure)
    {
        if (subscription.DeadLetterTopic is null || !await TryDeadLetterAsync(subscription, pubsub, message))
        {
            throw new InvalidOperationException($"event on topic {subscription.Topic} not delivered: {failure.Message}", failure);
        }
    }

    private async Task<bool> TryDeadLetterAsync(SubscriptionDefinition subscription, IPubSub pubsub, PubSubMessage message)
    {
        if (subscription.DeadLetterTopic is not { } deadLetterTopic)
        {
            return false;
        }

        try
        {
            await pubsub.PublishAsync(message with { Topic = deadLetterTopic }, CancellationToken.None);
            logger.LogInformation("Event on topic {Topic} sent to dead-letter topic {DeadLetterTopic}", subscription.Topic, deadLetterTopic);
            return true;
        }
        catch (Exception e)
        {
            logger.LogError("Error sending an event of topic {Topic} to dead-letter topic {DeadLetterTopic}: {Error}", subscription.Topic, deadLetterTopic, e.Message);
            return false;
        }
    }
}
