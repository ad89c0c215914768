using System.Text.Json;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Safety;
using DaprLlm.Safety.Review.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DaprLlm.Safety.Review;

/// <summary>
/// Review routes: status by id (the gateway calls it through Dapr), the queue's event subscriptions (live updates
/// across replicas) and the labelled-example export for recalibration (admin).
/// </summary>
public static class ReviewApi
{
    public static WebApplication MapReviewApi(this WebApplication app)
    {
        // Dapr delivers events as CloudEvents and discovers subscriptions at /dapr/subscribe.
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        app.MapGet("/" + ReviewNames.StatusMethodPrefix + "{id}", GetStatus);
        app.MapPost("/review/events/created", OnQueueChanged<ReviewCreatedV1>).WithTopic(DaprComponents.PubSub, ReviewNames.CreatedTopic);
        app.MapPost("/review/events/decided", OnQueueChanged<ReviewDecidedV1>).WithTopic(DaprComponents.PubSub, ReviewNames.DecidedTopic);
        app.MapReviewErasure();
        app.MapGet("/review/feedback.jsonl", ExportFeedback).RequireAuthorization(p => p.RequireRole(ReviewRoles.Admin));
        return app;
    }

    private static async Task<Results<Ok<ReviewStatus>, NotFound<ReviewError>>> GetStatus(string id, ReviewService reviews, CancellationToken cancellationToken) =>
        await reviews.GetStatusAsync(id, cancellationToken) is { } status
            ? TypedResults.Ok(status)
            : TypedResults.NotFound(ReviewError.Of($"review '{id}' was not found", "not_found"));

    private static Ok OnQueueChanged<TEvent>(TEvent _, ReviewQueueNotifier notifier)
    {
        notifier.Notify();
        return TypedResults.Ok();
    }

    private static async Task ExportFeedback(HttpContext context, FeedbackStore feedback, ReviewerDirectory directory, CancellationToken cancellationToken)
    {
        // Admins see their tenants' examples only, as on every other page (an OIDC admin may hold one tenant).
        var admin = await directory.CurrentAsync(context.User, cancellationToken);
        if (!admin.IsAdmin)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        context.Response.ContentType = "application/x-ndjson";
        foreach (var example in (await feedback.ListAsync(cancellationToken)).Where(e => admin.CanSeeTenant(e.Meta.Tenant)))
        {
            await context.Response.WriteAsync(JsonSerializer.Serialize(example) + "\n", cancellationToken);
        }
    }
}

/// <summary>OpenAI-style error body.</summary>
public sealed record ReviewError(ReviewErrorBody Error)
{
    public static ReviewError Of(string message, string code, string type = "invalid_request_error") => new(new ReviewErrorBody(message, type, null, code));
}

/// <summary>The "error" object of <see cref="ReviewError"/>.</summary>
public sealed record ReviewErrorBody(string Message, string Type, string? Param, string Code);
