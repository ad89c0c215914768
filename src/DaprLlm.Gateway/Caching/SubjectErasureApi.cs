using Dapr;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;

namespace DaprLlm.Gateway.Caching;

/// <summary>
/// GDPR erasure: audit publishes subject.erased (tenant + the end user's OpenAI "user" id); the gateway drops that
/// user's entries from the exact and semantic caches. Delivered by the sidecar (pub/sub subscription).
/// </summary>
public static partial class SubjectErasureApi
{
    public const string Route = "/events/subject-erased";

    public static WebApplication MapSubjectErasure(this WebApplication app)
    {
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        app.MapPost(Route, Purge).WithTopic(DaprComponents.PubSub, Topics.SubjectErased).ExcludeFromDescription();
        return app;
    }

    private static IResult Purge(SubjectErasedV1? erased, ExactCache exact, SemanticCache semantic, ILoggerFactory loggers)
    {
        if (erased is not { TenantId.Length: > 0, UserId.Length: > 0 })
        {
            // Malformed events are dropped (DROP), not retried forever.
            return Results.Ok(new { status = "DROP" });
        }

        var count = exact.PurgeUser(erased.TenantId, erased.UserId) + semantic.PurgeUser(erased.TenantId, erased.UserId);
        LogPurged(loggers.CreateLogger(typeof(SubjectErasureApi)), erased.TenantId, count);
        return Results.Ok(new { status = "SUCCESS" });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Subject erasure for tenant {TenantId}: {Count} cache entries dropped")]
    private static partial void LogPurged(ILogger logger, string tenantId, int count);
}
