using Dapr;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Safety;
using DaprLlm.Gateway.Caching;
using DaprLlm.Gateway.Review;

namespace DaprLlm.Gateway.Events;

/// <summary>
/// The gateway's pub/sub subscriptions (delivered by its sidecar): subject.erased (on the broadcast component, so it
/// reaches every replica) purges the caches of an end user; review.decided calls the client's review webhook.
/// </summary>
public static partial class EventsApi
{
    public static WebApplicationBuilder AddEvents(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ReviewWebhookOptions>().BindConfiguration(ReviewWebhookOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ReviewWebhooks>();
        return builder;
    }

    public static WebApplication MapEvents(this WebApplication app)
    {
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        var events = app.MapGroup("/events").ExcludeFromDescription();
        // Every replica holds its own in-memory caches, so every replica must see each erasure: the broadcast component.
        events.MapPost("/subject-erased", SubjectErased).WithTopic(DaprComponents.PubSubBroadcast, Topics.SubjectErased);
        events.MapPost("/review-decided", ReviewDecided).WithTopic(DaprComponents.PubSub, ReviewNames.DecidedTopic);
        return app;
    }

    private static IResult SubjectErased(SubjectErasedV1? erased, ExactCache exact, SemanticCache semantic, ILoggerFactory loggers)
    {
        if (erased is not { TenantId.Length: > 0, UserId.Length: > 0 })
        {
            return Results.Ok(new { status = "DROP" }); // malformed: never retried forever
        }

        var count = exact.PurgeUser(erased.TenantId, erased.UserId) + semantic.PurgeUser(erased.TenantId, erased.UserId);
        LogPurged(loggers.CreateLogger(typeof(EventsApi)), erased.TenantId, count);
        return Results.Ok(new { status = "SUCCESS" });
    }

    private static async Task<IResult> ReviewDecided(ReviewDecidedV1? decided, ReviewWebhooks webhooks, CancellationToken ct)
    {
        if (decided is not { ReviewId.Length: > 0 })
        {
            return Results.Ok(new { status = "DROP" });
        }

        await webhooks.DeliverAsync(decided, ct);
        return Results.Ok(new { status = "SUCCESS" });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Subject erasure for tenant {TenantId}: {Count} cache entries dropped")]
    private static partial void LogPurged(ILogger logger, string tenantId, int count);
}
